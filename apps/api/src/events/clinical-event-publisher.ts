import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { CLINICAL_EVENTS_QUEUE, clinicalEventJob, type ClinicalEvent } from '@app/contracts';

/** Puts a validated event on the same queue upstream systems publish to: one door into the pathway. */
@Injectable()
export class ClinicalEventPublisher {
  private readonly logger = new Logger('ClinicalEventPublisher');

  constructor(@InjectQueue(CLINICAL_EVENTS_QUEUE) private readonly queue: Queue) {
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
    } catch (err) {
      this.logger.error(`could not enqueue event ${event.eventId}: ${(err as Error).message}`);
      throw new ServiceUnavailableException('the event queue is unavailable; nothing was accepted, retry later');
    }
  }
}
