import type { Pool } from 'pg';
import type { OutboxJob } from './apply-clinical-event';
import { inTransaction } from './database';

export interface OutboxMessage {
  id: number;
  queue: string;
  jobName: string;
  jobId: string;
  payload: Record<string, unknown>;
  deliverAt: string | null;
}

/**
 * Relays committed outbox rows to a publisher (BullMQ). Rows are claimed with SKIP LOCKED so several
 * relays can run; a row is deleted only after the publisher returned, in the same transaction that holds the
 * claim. A crash in between re-publishes with the same job id, which BullMQ ignores.
 */
export class OutboxStore {
  constructor(private readonly pool: Pool) {}

  async relayBatch(limit: number, publish: (messages: OutboxMessage[]) => Promise<void>): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ id: number; jobs: OutboxJob[] }>(
        'SELECT id, jobs FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED',
        [limit],
      );
      if (rows.length === 0) return 0;
      await publish(
        rows.flatMap((row) =>
          row.jobs.map((job) => ({
            id: row.id,
            queue: job.queue,
            jobName: job.name,
            jobId: job.jobId,
            payload: job.data,
            deliverAt: job.deliverAt,
          })),
        ),
      );
      await client.query('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
      return rows.length;
    });
  }
}
