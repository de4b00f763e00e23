import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { CLINICAL_EVENTS_QUEUE, EVENT_TYPES } from '@app/contracts';
import type { ServiceConfig } from '@app/config';
import { patientRef, SERVICE_CONFIG, ServiceMetrics } from '@app/platform';
import { DeadLetterStore } from '@app/store';
import { OutboxRelay } from '../outbox-relay/outbox-relay.service';
import { ClinicalEventIntake } from './clinical-event-intake';
import { MAX_STALLED_COUNT, STALLED_TOO_OFTEN } from '../job-stalls';

/** BullMQ glue only: a job becomes a call to the intake; the job's summary carries ids, never patient data. */
@Processor(CLINICAL_EVENTS_QUEUE, { maxStalledCount: MAX_STALLED_COUNT })
export class ClinicalEventsProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger('ClinicalEventsWorker');

  constructor(
    private readonly intake: ClinicalEventIntake,
    private readonly deadLetters: DeadLetterStore,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    private readonly metrics: ServiceMetrics,
    private readonly relay: OutboxRelay,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.WORKER_CONCURRENCY;
  }

  async process(job: Job): Promise<{ status: string; version?: number; tasks?: number }> {
    const started = process.hrtime.bigint();
    let outcome;
    try {
      outcome = await this.intake.handle({ jobId: job.id, jobName: job.name, data: job.data });
    } catch (err) {
      if (err instanceof UnrecoverableError)
        this.metrics.events.inc({ type: metricType(job.name), outcome: 'invalid' });
      throw err;
    }
    this.metrics.events.inc({ type: metricType(job.name), outcome: outcome.status });
    // its tasks (and timers) are in the outbox: on to routing and email at once
    if (outcome.status !== 'duplicate' && outcome.taskIds.length > 0) this.relay.nudge();
    const data = job.data as { patientId?: unknown; correlationId?: unknown };
    this.logger.debug({
      msg: 'clinical event',
      eventId: job.id,
      type: job.name,
      outcome: outcome.status,
      correlationId: typeof data.correlationId === 'string' ? data.correlationId : job.id,
      ...(typeof data.patientId === 'string'
        ? { patientRef: patientRef(this.config.LOG_HASH_KEY, data.patientId) }
        : {}),
      ...(outcome.status !== 'duplicate' ? { tasks: outcome.taskIds.length, version: outcome.patientVersion } : {}),
    });
    this.metrics.processingSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (outcome.status !== 'duplicate')
      this.metrics.endToEndSeconds.observe(Math.max(0, Date.now() - job.timestamp) / 1000);
    if (outcome.status === 'duplicate') return { status: outcome.status };
    return { status: outcome.status, version: outcome.patientVersion, tasks: outcome.taskIds.length };
  }

  /**
   * Out of retries on an unexpected error (not a validation failure), or stalled too often (BullMQ fails it
   * without retries): keep it for an operator.
   */
  @OnWorkerEvent('failed')
  async onFailed(job: Job | undefined, error: Error): Promise<void> {
    const stalled = error.message === STALLED_TOO_OFTEN;
    if (!job || (!stalled && (error instanceof UnrecoverableError || error.name === 'UnrecoverableError'))) return;
    const attempts = job.opts.attempts ?? 1;
    if (!stalled && job.attemptsMade < attempts) return;
    await this.deadLetters
      .record('processing', job.data, [{ field: '(processing)', reason: error.message }], `processing.${job.id}`)
      .catch((err: Error) => this.logger.error(`could not dead-letter job ${job.id}: ${err.message}`));
    this.logger.error(
      `event ${job.id} failed after ${job.attemptsMade} attempts and was dead-lettered: ${error.message}`,
    );
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.logger.error(`worker error: ${error.message}`);
  }
}

/** A label is a known event type or `other`: a job name comes from outside and must not grow the label set. */
function metricType(name: string): string {
  return (EVENT_TYPES as readonly string[]).includes(name) ? name : 'other';
}
