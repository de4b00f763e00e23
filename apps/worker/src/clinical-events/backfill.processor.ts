import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { CLINICAL_EVENTS_BACKFILL_QUEUE } from '@app/contracts';
import type { ServiceConfig } from '@app/config';
import { SERVICE_CONFIG, ServiceMetrics } from '@app/platform';
import { DeadLetterStore } from '@app/store';
import { ClinicalEventIntake } from './clinical-event-intake';
import { MAX_STALLED_COUNT, STALLED_TOO_OFTEN } from '../job-stalls';

/** BullMQ glue for backfill batches: a job becomes one call to the intake; the summary carries counts only. */
@Processor(CLINICAL_EVENTS_BACKFILL_QUEUE, { maxStalledCount: MAX_STALLED_COUNT })
export class BackfillProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger('BackfillWorker');

  constructor(
    private readonly intake: ClinicalEventIntake,
    private readonly deadLetters: DeadLetterStore,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    private readonly metrics: ServiceMetrics,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.BACKFILL_CONCURRENCY;
  }

  async process(job: Job): Promise<{ events: number; outcomes: Record<string, number>; deferred: number }> {
    const started = process.hrtime.bigint();
    const result = await this.intake.handleBatch({ jobId: job.id, data: job.data });
    const counts: Record<string, number> = {};
    for (const outcome of result.outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
    for (const [outcome, n] of Object.entries(counts)) this.metrics.events.inc({ type: 'backfill', outcome }, n);
    this.metrics.processingSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.logger.debug({ msg: 'backfill batch', batchId: job.id, outcomes: counts, deferred: result.deferred });
    return { events: result.outcomes.length, outcomes: counts, deferred: result.deferred };
  }

  /** Out of retries on an unexpected error: the whole batch is kept for an operator, who can replay it. */
  @OnWorkerEvent('failed')
  async onFailed(job: Job | undefined, error: Error): Promise<void> {
    const stalled = error.message === STALLED_TOO_OFTEN; // BullMQ fails it without retries: keep it too
    if (!job || (!stalled && (error instanceof UnrecoverableError || error.name === 'UnrecoverableError'))) return;
    if (!stalled && job.attemptsMade < (job.opts.attempts ?? 1)) return;
    await this.deadLetters
      .record('processing', job.data, [{ field: '(processing)', reason: error.message }], `processing.${job.id}`)
      .catch((err: Error) => this.logger.error(`could not dead-letter batch ${job.id}: ${err.message}`));
    this.logger.error(`backfill batch ${job.id} failed after ${job.attemptsMade} attempts: ${error.message}`);
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.logger.error(`backfill worker error: ${error.message}`);
  }
}
