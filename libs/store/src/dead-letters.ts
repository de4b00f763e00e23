import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import type { FieldError } from '@app/contracts';

/** Where it was refused: the event queue, HTTP intake, processing (out of retries), or email (permanent SMTP failure). */
export type DeadLetterChannel = 'queue' | 'http' | 'processing' | 'email';

export interface DeadLetter {
  id: number;
  channel: DeadLetterChannel;
  eventId: string | null;
  eventType: string | null;
  payload: unknown;
  errors: FieldError[];
  receivedAt: string;
  status: 'open' | 'replayed';
  replayedAt: string | null;
  replayedEventId: string | null;
}

const COLUMNS = `id, channel, event_id AS "eventId", event_type AS "eventType", payload, errors, received_at AS "receivedAt",
  status, replayed_at AS "replayedAt", replayed_event_id AS "replayedEventId"`;

function field(payload: unknown, name: string): string | null {
  if (payload && typeof payload === 'object' && typeof (payload as Record<string, unknown>)[name] === 'string') {
    return (payload as Record<string, string>)[name];
  }
  return null;
}

/**
 * Refused input as jsonb can hold it: NUL and half surrogate pairs (in keys and strings) as U+FFFD, nesting past 32
 * levels as a note. Otherwise the input would fail to be stored exactly because it is invalid (found by fuzzing).
 */
export function storableJson(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(UNSTORABLE_TEXT, '\ufffd');
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= 32) return '[nested deeper than 32 levels: not kept]';
  if (Array.isArray(value)) return value.map((item) => storableJson(item, depth + 1));
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, item] of Object.entries(value))
    out[key.replace(UNSTORABLE_TEXT, '\ufffd')] = storableJson(item, depth + 1);
  return out;
}
const UNSTORABLE_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Invalid input is kept with its payload, field and reason (invariant 5); the same input twice is one row. */
export class DeadLetterStore {
  constructor(private readonly pool: Pool) {}

  async record(
    channel: DeadLetterChannel,
    payload: unknown,
    errors: FieldError[],
    dedupeKey?: string,
  ): Promise<DeadLetter> {
    payload = storableJson(payload);
    errors = storableJson(errors) as FieldError[];
    const key =
      dedupeKey ??
      createHash('sha256')
        .update(`${channel}\n${JSON.stringify(payload)}`)
        .digest('hex');
    const { rows } = await this.pool.query<DeadLetter>(
      `WITH inserted AS (
         INSERT INTO dead_letters (dedupe_key, channel, event_id, event_type, payload, errors)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING RETURNING ${COLUMNS}
       )
       SELECT * FROM inserted
       UNION ALL SELECT ${COLUMNS} FROM dead_letters WHERE dedupe_key = $1 AND NOT EXISTS (SELECT 1 FROM inserted)`,
      [
        key,
        channel,
        field(payload, 'eventId'),
        field(payload, 'type'),
        JSON.stringify(payload ?? null),
        JSON.stringify(errors),
      ],
    );
    if (rows[0]) return rows[0];
    // The same payload recorded at the same moment by another request: this insert waited for that one's commit and
    // did nothing, and this statement's snapshot, taken before that commit, cannot see the row. A new statement can.
    const { rows: recorded } = await this.pool.query<DeadLetter>(
      `SELECT ${COLUMNS} FROM dead_letters WHERE dedupe_key = $1`,
      [key],
    );
    return recorded[0];
  }

  async list(options: {
    status?: 'open' | 'replayed';
    limit: number;
    offset: number;
  }): Promise<{ items: DeadLetter[]; total: number }> {
    const where = options.status ? 'WHERE status = $3' : '';
    const params: unknown[] = [options.limit, options.offset];
    if (options.status) params.push(options.status);
    const { rows } = await this.pool.query<DeadLetter & { total: number }>(
      `SELECT ${COLUMNS}, count(*) OVER ()::int AS total FROM dead_letters ${where} ORDER BY id DESC LIMIT $1 OFFSET $2`,
      params,
    );
    return { items: rows.map(({ total: _total, ...rest }) => rest), total: rows[0]?.total ?? 0 };
  }

  async get(id: number): Promise<DeadLetter | null> {
    const { rows } = await this.pool.query<DeadLetter>(`SELECT ${COLUMNS} FROM dead_letters WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  async markReplayed(id: number, eventId: string): Promise<void> {
    await this.pool.query(
      `UPDATE dead_letters SET status = 'replayed', replayed_at = now(), replayed_event_id = $2 WHERE id = $1`,
      [id, eventId],
    );
  }
}
