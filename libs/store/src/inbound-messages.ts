import type { Pool } from 'pg';

export type InboundChannel = 'mllp' | 'http' | 'fhir';

export interface InboundAnswer {
  sender: string | null;
  controlId: string | null;
  messageType: string | null;
  ackCode: 'AA' | 'AE' | 'AR';
  reason: string | null;
  eventIds: string[];
}

export interface InboundMessage extends Omit<InboundAnswer, 'ackCode'> {
  id: number;
  channel: InboundChannel;
  format: string;
  receivedAt: string;
  ackCode: InboundAnswer['ackCode'] | null;
  answeredAt: string | null;
  raw?: string;
}

const COLUMNS = `id, channel, format, received_at AS "receivedAt", sender, control_id AS "controlId",
  message_type AS "messageType", ack_code AS "ackCode", reason, event_ids AS "eventIds", answered_at AS "answeredAt"`;

/** Interop messages as received, then as answered (migration 004). */
export class InboundMessageStore {
  constructor(private readonly pool: Pool) {}

  /** Stores the raw message before anything else is done with it; returns its id. */
  async receive(channel: InboundChannel, format: 'hl7v2' | 'fhir+json', raw: string, now: Date): Promise<number> {
    const { rows } = await this.pool.query<{ id: number }>(
      'INSERT INTO inbound_messages (channel, format, received_at, raw) VALUES ($1, $2, $3, $4) RETURNING id',
      [channel, format, now.toISOString(), raw],
    );
    return rows[0].id;
  }

  async answer(id: number, answer: InboundAnswer, now: Date): Promise<void> {
    await this.pool.query(
      `UPDATE inbound_messages SET sender = $2, control_id = $3, message_type = $4, ack_code = $5, reason = $6,
              event_ids = $7, answered_at = $8 WHERE id = $1`,
      [
        id,
        answer.sender,
        answer.controlId,
        answer.messageType,
        answer.ackCode,
        answer.reason,
        answer.eventIds,
        now.toISOString(),
      ],
    );
  }

  /** Newest first; `refused` lists the AE and AR answers only. The raw text is left out of lists. */
  async list(options: {
    refused?: boolean;
    limit: number;
    offset: number;
  }): Promise<{ items: InboundMessage[]; total: number }> {
    const where = options.refused ? `WHERE ack_code IN ('AE', 'AR')` : '';
    const { rows } = await this.pool.query<InboundMessage & { total: number }>(
      `SELECT ${COLUMNS}, count(*) OVER ()::int AS total FROM inbound_messages ${where} ORDER BY id DESC LIMIT $1 OFFSET $2`,
      [options.limit, options.offset],
    );
    return { items: rows.map(({ total: _total, ...rest }) => rest), total: rows[0]?.total ?? 0 };
  }

  async get(id: number): Promise<InboundMessage | null> {
    const { rows } = await this.pool.query<InboundMessage>(
      `SELECT ${COLUMNS}, raw FROM inbound_messages WHERE id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }
}
