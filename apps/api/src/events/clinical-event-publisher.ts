import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ServiceConfig } from '@app/config';
import { CLINICAL_EVENTS_QUEUE, clinicalEventJob, type ClinicalEvent } from '@app/contracts';
import { SERVICE_CONFIG } from '@app/platform';

/** Puts a validated event on the same queue upstream systems publish to: one door into the pathway. */
@Injectable()
export class ClinicalEventPublisher {
  private readonly logger = new Logger('ClinicalEventPublisher');

  constructor(
    @InjectQueue(CLINICAL_EVENTS_QUEUE) private readonly queue: Queue,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
  ) {
    queue.on('error', (err) => this.logger.error(`queue error: ${err.message}`));
  }

  async publish(event: ClinicalEvent): Promise<void> {
    await this.enqueue(event, false);
  }

  /**
   * For a dead-letter replay: a failed job keeps its id in BullMQ (removeOnFail keeps it for audit), and a
   * new add with that id would be ignored, so the failed one is removed first. A job that completed is
   * left alone: the event is already in the event log and a replay is then a no-op.
   */
  async republish(event: ClinicalEvent): Promise<void> {
    await this.enqueue(event, true);
  }

  private async enqueue(event: ClinicalEvent, replacingFailed: boolean): Promise<void> {
    const job = clinicalEventJob(event);
    try {
      if (replacingFailed) {
        const previous = await this.queue.getJob(job.opts.jobId);
        if (previous && (await previous.isFailed())) await previous.remove();
      }
      await this.queue.add(job.name, job.data, job.opts);
      await this.untilReplicated(event.eventId);
    } catch (err) {
      if (err instanceof ServiceUnavailableException) throw err;
      this.logger.error(`could not enqueue event ${event.eventId}: ${(err as Error).message}`);
      throw new ServiceUnavailableException('the event queue is unavailable; nothing was accepted, retry later');
    }
  }

  /**
   * REDIS_WAIT_REPLICAS: the caller is told "accepted" only once that many replicas have the event, so a failover
   * (Sentinel promoting a replica) cannot lose what was acknowledged. WAIT covers every write this connection made.
   */
  private async untilReplicated(eventId: string): Promise<void> {
    const replicas = this.config.REDIS_WAIT_REPLICAS;
    if (replicas === 0) return;
    // BullMQ types its connection narrowly; it is an ioredis client (libs/platform/src/redis.ts)
    const client = (await this.queue.client) as unknown as Redis;
    const acknowledged = Number(await client.call('WAIT', replicas, this.config.REDIS_WAIT_TIMEOUT_MS));
    if (acknowledged < replicas) {
      this.logger.warn(`event ${eventId} reached ${acknowledged} of ${replicas} Redis replicas in time`);
      throw new ServiceUnavailableException(
        'the event queue could not confirm the event on a replica; retry later (a resend of the same event is safe)',
      );
    }
  }
}
