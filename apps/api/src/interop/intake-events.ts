import { Injectable } from '@nestjs/common';
import { validateClinicalEvent, type ClinicalEvent } from '@app/contracts';
import { ClinicalEventPublisher } from '../events/clinical-event-publisher';

/** The message could not be stored or its events queued: it is NOT acknowledged, and the sender must resend it. */
export class IntakeUnavailableError extends Error {}

/**
 * What HL7 v2 and FHIR intake share once a message is mapped: the events must still pass the contract (a label
 * too long, say), and go onto the clinical-events queue, the one door into the pathway.
 */
@Injectable()
export class IntakeEvents {
  constructor(private readonly publisher: ClinicalEventPublisher) {}

  /** The events that pass the contract, and `field: reason` for each that does not. */
  check(events: ClinicalEvent[]): { valid: ClinicalEvent[]; problems: string[] } {
    const valid: ClinicalEvent[] = [];
    const problems: string[] = [];
    for (const event of events) {
      const result = validateClinicalEvent(event);
      if (result.ok) valid.push(result.event);
      else problems.push(...result.errors.map((e) => `${e.field}: ${e.reason}`));
    }
    return { valid, problems };
  }

  /** All or an IntakeUnavailableError; a resend maps to the same event ids, so what did go is a duplicate then. */
  async publish(events: ClinicalEvent[]): Promise<void> {
    try {
      for (const event of events) await this.publisher.publish(event);
    } catch {
      throw new IntakeUnavailableError('the event queue is unavailable; the message was not acknowledged: resend it');
    }
  }
}
