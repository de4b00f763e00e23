import { Inject, Injectable, Logger } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { validateClinicalEvent, type ClinicalEventValidationResult, type FieldError } from '@app/contracts';
import type { ServiceConfig } from '@app/config';
import { CLOCK, PATHWAY, SERVICE_CONFIG } from '@app/platform';
import type { Pathway } from '@app/pathway';
import { ClinicalEventApplier, DeadLetterStore, type ApplyOutcome, type Clock, type EscalationStep } from '@app/store';

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
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly applier: ClinicalEventApplier,
    private readonly deadLetters: DeadLetterStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PATHWAY) pathway: Pathway,
    @Inject(SERVICE_CONFIG) _config: ServiceConfig,
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
    return this.inPatientOrder(checked.event.patientId, () =>
      this.applier.apply(checked.event, { now: this.clock.now(), escalation: this.escalation }),
    );
  }

  /**
   * Jobs reach this process in queue order, but run concurrently: two events of one patient fetched back to
   * back could commit in either order. Chaining them per patient keeps this process's order FIFO; across
   * processes, the event door's clinical-order rebuild (R-LATE-EVENT) covers what is left.
   */
  private async inPatientOrder<T>(patientId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.inFlight.get(patientId);
    const mine = (previous ? previous.catch(() => undefined) : Promise.resolve()).then(work);
    this.inFlight.set(patientId, mine);
    try {
      return await mine;
    } finally {
      if (this.inFlight.get(patientId) === mine) this.inFlight.delete(patientId);
    }
  }
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
