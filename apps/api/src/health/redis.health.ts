import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { CLINICAL_EVENTS_QUEUE } from '@app/contracts';
import { reason, withTimeout } from './check-timeout';

/** Redis answers PING on the connection the api publishes events with (the one that matters for intake). */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    @InjectQueue(CLINICAL_EVENTS_QUEUE) private readonly queue: Queue,
    private readonly health: HealthIndicatorService,
  ) {}

  async check(key = 'redis'): Promise<HealthIndicatorResult> {
    const session = this.health.check(key);
    try {
      // BullMQ types its client as an adapter without PING; built from ioredis options (ours), it is a proxy that
      // forwards ping() to the ioredis client.
      const ping = async () => ((await this.queue.client) as unknown as Pick<Redis, 'ping'>).ping();
      await withTimeout(ping());
      return session.up();
    } catch (err) {
      return session.down({ message: reason(err) });
    }
  }
}

/**
 * Job counts of the queues the api publishes to, for operators. Up whenever Redis answers: a backlog or failed jobs
 * are the worker's trouble, and taking the api out of rotation for them would only stop intake as well.
 */
@Injectable()
export class QueuesHealthIndicator {
  constructor(
    @InjectQueue(CLINICAL_EVENTS_QUEUE) private readonly queue: Queue,
    private readonly health: HealthIndicatorService,
  ) {}

  async check(key = 'queues'): Promise<HealthIndicatorResult> {
    const session = this.health.check(key);
    try {
      const counts = await withTimeout(this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed'));
      const { waiting, active, delayed, failed } = counts;
      return session.up({ [this.queue.name]: { waiting, active, delayed, failed } });
    } catch (err) {
      return session.down({ message: reason(err) });
    }
  }
}
