import { Inject, Injectable, Logger } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import {
  BACKFILL_BATCH_MAX,
  validateClinicalEvent,
  type ClinicalEvent,
  type ClinicalEventValidationResult,
  type FieldError,
} from '@app/contracts';
import type { ServiceConfig } from '@app/config';
import { CLOCK, PATHWAY, SERVICE_CONFIG } from '@app/platform';
import type { Pathway } from '@app/pathway';
import { PatientOrder } from './patient-order';
import {
  ClinicalEventApplier,
  ClinicalEventBatchApplier,
  DeadLetterStore,
  type ApplyOutcome,
  type Clock,
  type EscalationStep,
} from '@app/store';

export interface QueuedBatch {
  jobId: string | undefined;
  data: unknown;
}

/** One backfill batch: each event's outcome (`invalid` = dead-lettered) in batch order. */
export interface BatchResult {
  outcomes: (ApplyOutcome['status'] | 'invalid')[];
  /** Events of patients with a late arrival, applied one at a time after the batch. */
  deferred: number;
}

export interface QueuedClinicalEvent {
  jobId: string | undefined;
  jobName: string;
  data: unknown;
}

/**
 * One queued clinical event through the pathway's door: validate (invalid → dead letter, never retried),
 * then apply in one transaction. Transient failures (database, network) are thrown for BullMQ to retry.
 */
@Injectable()
export class ClinicalEventIntake {
  private readonly logger = new Logger('ClinicalEvents');
  private readonly escalation: EscalationStep[];

  constructor(
    private readonly applier: ClinicalEventApplier,
    private readonly deadLetters: DeadLetterStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PATHWAY) pathway: Pathway,
    @Inject(SERVICE_CONFIG) _config: ServiceConfig,
    private readonly patientOrder: PatientOrder,
    private readonly batchApplier: ClinicalEventBatchApplier,
  ) {
    this.escalation = escalationSteps(pathway);
  }

  async handle(job: QueuedClinicalEvent): Promise<ApplyOutcome> {
    const checked = check(job);
    if (!checked.ok) {
      const letter = await this.deadLetters.record(
        'queue',
        job.data,
        checked.errors,
        job.jobId ? `queue.${job.jobId}` : undefined,
      );
      const reasons = checked.errors.map(describe).join('; ');
      this.logger.warn(`event ${job.jobId ?? '?'} dead-lettered as #${letter.id}: ${reasons}`);
      throw new UnrecoverableError(`invalid clinical event: ${reasons}`);
    }
    return this.patientOrder.run([checked.event.patientId], () =>
      this.applier.apply(checked.event, { now: this.clock.now(), escalation: this.escalation }),
    );
  }

  /**
   * A backfill batch: each event is checked on its own (an invalid one is dead-lettered with its position and the
   * rest go on: one bad record does not hold back a year of history), then the valid ones are applied in one
   * transaction, after any work of this process already queued for the same patients.
   */
  async handleBatch(job: QueuedBatch): Promise<BatchResult> {
    const shape = checkBatch(job);
    if (shape.length > 0) {
      const letter = await this.deadLetters.record('queue', job.data, shape, `backfill.${job.jobId ?? '?'}`);
      const reasons = shape.map(describe).join('; ');
      this.logger.warn(`backfill batch ${job.jobId ?? '?'} dead-lettered as #${letter.id}: ${reasons}`);
      throw new UnrecoverableError(`invalid backfill batch: ${reasons}`);
    }
    const { batchId, events } = job.data as { batchId: string; events: unknown[] };
    const outcomes: BatchResult['outcomes'] = new Array(events.length);
    const valid: { event: ClinicalEvent; index: number }[] = [];
    for (const [index, data] of events.entries()) {
      const checked = validateClinicalEvent(data);
      if (checked.ok) {
        valid.push({ event: checked.event, index });
        continue;
      }
      const letter = await this.deadLetters.record('queue', data, checked.errors, `backfill.${batchId}.${index}`);
      this.logger.warn(
        `backfill ${batchId} event #${index} dead-lettered as #${letter.id}: ${checked.errors.map(describe).join('; ')}`,
      );
      outcomes[index] = 'invalid';
    }
    if (valid.length === 0) return { outcomes, deferred: 0 };
    const applied = await this.patientOrder.run(
      valid.map((v) => v.event.patientId),
      () =>
        this.batchApplier.applyBatch(
          valid.map((v) => v.event),
          { now: this.clock.now(), escalation: this.escalation },
        ),
    );
    applied.outcomes.forEach((outcome, i) => (outcomes[valid[i].index] = outcome.status));
    return { outcomes, deferred: applied.deferred };
  }
}

function checkBatch(job: QueuedBatch): FieldError[] {
  const data = job.data as { batchId?: unknown; events?: unknown } | null;
  if (typeof data !== 'object' || data === null) return [{ field: '(batch)', reason: 'must be an object' }];
  const errors: FieldError[] = [];
  if (typeof data.batchId !== 'string' || data.batchId.length === 0)
    errors.push({ field: 'batchId', reason: 'must be a non-empty string' });
  else if (job.jobId !== undefined && job.jobId !== data.batchId)
    errors.push({ field: 'batchId', reason: `job id "${job.jobId}" differs from the batch id` });
  if (!Array.isArray(data.events) || data.events.length === 0 || data.events.length > BACKFILL_BATCH_MAX)
    errors.push({ field: 'events', reason: `must be an array of 1 to ${BACKFILL_BATCH_MAX} events` });
  return errors;
}

/** Contract checks, plus the queue's own: job name = event type, job id = event id. */
function check(job: QueuedClinicalEvent): ClinicalEventValidationResult {
  const result = validateClinicalEvent(job.data);
  if (!result.ok) return result;
  const errors: FieldError[] = [];
  if (job.jobName !== result.event.type)
    errors.push({ field: 'type', reason: `job name "${job.jobName}" differs from the event type` });
  if (job.jobId !== undefined && job.jobId !== result.event.eventId) {
    errors.push({ field: 'eventId', reason: `job id "${job.jobId}" differs from the event id` });
  }
  return errors.length ? { ok: false, errors } : result;
}

function describe(error: FieldError): string {
  return `${error.field}: ${error.reason}`;
}

export function escalationSteps(pathway: Pathway): EscalationStep[] {
  const { navigatorLeadAfterHours, clinicalLeadAfterHours } = pathway.config.escalation;
  return [
    { level: 'navigator-lead', afterMs: navigatorLeadAfterHours * 3_600_000 },
    { level: 'clinical-lead', afterMs: clinicalLeadAfterHours * 3_600_000 },
  ];
}
