import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { NOTIFICATIONS_QUEUE, TIMERS_QUEUE } from '@app/contracts';
import type { ServiceConfig } from '@app/config';
import { CLOCK, SERVICE_CONFIG } from '@app/platform';
import { OutboxStore, type Clock, type OutboxMessage } from '@app/store';

const BATCH = 500;

/** Publishes committed outbox rows as BullMQ jobs whose ids are the rows' deterministic job ids. */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('OutboxRelay');
  private readonly queues: Map<string, Queue>;
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  /** Set by nudge() while the relay is not asleep, so that the nudge is not lost. */
  private nudged = false;

  constructor(
    private readonly outbox: OutboxStore,
    @InjectQueue(NOTIFICATIONS_QUEUE) notifications: Queue,
    @InjectQueue(TIMERS_QUEUE) timers: Queue,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.queues = new Map([
      [NOTIFICATIONS_QUEUE, notifications],
      [TIMERS_QUEUE, timers],
    ]);
    for (const queue of this.queues.values())
      queue.on('error', (err) => this.logger.error(`queue error: ${err.message}`));
  }

  onApplicationBootstrap(): void {
    this.running = true;
    this.loop = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /**
   * A commit in this process wrote outbox rows: relay now instead of at the next poll (OUTBOX_POLL_MS), which would
   * add up to that long to every task's way to its assignee. Rows written by other processes wait for the poll.
   */
  nudge(): void {
    this.nudged = true;
    this.wake?.();
  }

  /** Relays until nothing is left; returns how many rows went out (used by tests and the demo). */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.outbox.relayBatch(BATCH, (messages) => this.publish(messages));
      total += n;
      if (n < BATCH) return total;
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.nudged = false;
      try {
        const n = await this.drain();
        if (n > 0) continue;
      } catch (err) {
        this.logger.error(`relay failed, retrying: ${(err as Error).message}`);
      }
      if (this.nudged || !this.running) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.config.OUTBOX_POLL_MS);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private async publish(messages: OutboxMessage[]): Promise<void> {
    const now = this.clock.now().getTime();
    const byQueue = new Map<string, OutboxMessage[]>();
    for (const m of messages) byQueue.set(m.queue, [...(byQueue.get(m.queue) ?? []), m]);
    for (const [name, batch] of byQueue) {
      const queue = this.queues.get(name);
      if (!queue) throw new Error(`outbox row for unknown queue ${name}`);
      await queue.addBulk(
        batch.map((m) => ({
          name: m.jobName,
          data: m.payload,
          opts: {
            jobId: m.jobId,
            delay: m.deliverAt ? Math.max(0, new Date(m.deliverAt).getTime() - now) : undefined,
            attempts: 8,
            backoff: { type: 'exponential', delay: 2000 },
            removeOnComplete: { age: 7 * 24 * 3600, count: 100_000 },
            removeOnFail: { age: 30 * 24 * 3600 },
          },
        })),
      );
    }
  }
}
