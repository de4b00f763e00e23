import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { CLINICAL_EVENTS_QUEUE, clinicalEventJob, type ClinicalEvent } from '@app/contracts';
import { redisConnection } from '@app/platform';

/**
 * An upstream system that counts an event as delivered only once Redis accepted it **and** a replica has it:
 * `addBulk` (one MULTI: a patient's events go on the queue together or not at all) on a producer connection (fails
 * fast while there is no primary), then `WAIT <replicas> <ms>` on the same connection. Redis replicates
 * asynchronously, so a write only the primary has can vanish when a replica is promoted; anything not confirmed is
 * sent again with the same job ids (BullMQ ignores an id it still has, the event log ignores an event it has).
 */
export class ConfirmingPublisher {
  readonly queue: Queue;
  /** Every successful addBulk and every confirmation (WAIT reached the replicas), as Date.now() times. */
  readonly accepted: number[] = [];
  readonly confirmed: number[] = [];
  /** Per event: when it was first sent, first accepted by a primary, and confirmed. */
  readonly events = new Map<string, { sentAt: number; acceptedAt?: number; confirmedAt?: number }>();
  readonly stats = { batches: 0, attempts: 0, failed: 0, unconfirmed: 0, batchesResent: 0, eventsResent: 0 };

  constructor(
    prefix: string,
    redisUrl: string,
    private readonly replicas = 1,
    private readonly waitMs = 500,
  ) {
    this.queue = new Queue(CLINICAL_EVENTS_QUEUE, { connection: redisConnection(redisUrl, 'producer'), prefix });
    this.queue.on('error', () => undefined); // failures are counted where they happen
  }

  /** Sends one batch until it is confirmed; throws after `timeoutMs`. */
  async deliver(batch: ClinicalEvent[], timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.stats.batches++;
    for (const e of batch) if (!this.events.has(e.eventId)) this.events.set(e.eventId, { sentAt: Date.now() });
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        this.stats.batchesResent++;
        this.stats.eventsResent += batch.length;
      }
      this.stats.attempts++;
      try {
        await bounded(this.queue.addBulk(batch.map((e) => clinicalEventJob(e))), 2000);
        const acceptedAt = Date.now();
        this.accepted.push(acceptedAt);
        for (const e of batch) this.events.get(e.eventId)!.acceptedAt ??= acceptedAt;
        const client = (await this.queue.client) as unknown as Pick<Redis, 'wait'>;
        const reached = await bounded(client.wait(this.replicas, this.waitMs), this.waitMs + 1000);
        if (reached >= this.replicas) {
          const confirmedAt = Date.now();
          this.confirmed.push(confirmedAt);
          for (const e of batch) this.events.get(e.eventId)!.confirmedAt ??= confirmedAt;
          return;
        }
        this.stats.unconfirmed++;
      } catch {
        this.stats.failed++;
      }
      if (Date.now() > deadline) throw new Error(`batch ${batch[0].eventId} not confirmed within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async close(): Promise<void> {
    await bounded(this.queue.close(), 3000).catch(() => this.queue.disconnect());
  }
}

/** The promise, or a rejection after `ms` (a command sent as the primary dies may never be answered). */
function bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms)),
  );
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
