import type { Pool } from 'pg';
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { CLINICAL_EVENTS_QUEUE, clinicalEventJob, type ClinicalEvent } from '@app/contracts';
import { redisConnection } from '@app/platform';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A BullMQ prefix of its own per test file, so parallel files never consume each other's jobs. */
export function uniquePrefix(label: string): string {
  return `test-${label}-${randomBytes(3).toString('hex')}`;
}

/** What an upstream system does: put events on the clinical-events queue, jobId = eventId. */
export class UpstreamPublisher {
  readonly queue: Queue;

  constructor(prefix: string, redisUrl = REDIS_URL) {
    this.queue = new Queue(CLINICAL_EVENTS_QUEUE, { connection: redisConnection(redisUrl, 'worker'), prefix });
  }

  async publish(events: ClinicalEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += 500) {
      await this.queue.addBulk(events.slice(i, i + 500).map((e) => clinicalEventJob(e)));
    }
  }

  /** Publishes raw data as a job (to test what the worker does with bad input). */
  async publishRaw(name: string, data: unknown, jobId?: string): Promise<void> {
    await this.queue.add(name, data, { jobId, attempts: 3, removeOnFail: { age: 3600 } });
  }

  /** Removes every key under the prefix and closes the connection. */
  async destroy(): Promise<void> {
    await this.queue.obliterate({ force: true }).catch(() => undefined);
    await this.queue.close();
  }
}

export async function waitFor<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 30_000, intervalMs = 50, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
    last = await probe();
  }
  return last;
}

/** Waits until every one of these events is in the event log (applied, unexpected or late). */
export async function eventsLogged(pool: Pool, eventIds: string[]): Promise<void> {
  await waitFor(
    async () =>
      (
        await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM clinical_events WHERE event_id = ANY($1)', [
          eventIds,
        ])
      ).rows[0].n,
    (n) => n === eventIds.length,
    { what: `${eventIds.length} events logged` },
  );
}
