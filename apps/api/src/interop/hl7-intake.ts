import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ServiceConfig } from '@app/config';
import {
  buildAck,
  controlIdOf,
  decideOru,
  ERROR_CODES,
  field,
  Hl7ParseError,
  parseHl7v2,
  senderOf,
  type AckCode,
  type Hl7Decision,
} from '@app/interop';
import { CLOCK, SERVICE_CONFIG } from '@app/platform';
import { InboundMessageStore, type Clock, type InboundChannel } from '@app/store';
import { IntakeEvents, IntakeUnavailableError } from './intake-events';

export { IntakeUnavailableError };

export interface Hl7Answer {
  code: AckCode;
  /** The ACK message (segments separated by CR). */
  ack: string;
  inboundId: number;
}

/**
 * HL7 v2 intake, the same for MLLP and HTTP: store the raw message, parse, map (libs/interop), validate the events
 * against the contract, put them on the clinical-events queue (the one door into the pathway), record the answer,
 * and only then acknowledge. A resent message maps to the same event ids, so the door sees a duplicate.
 */
@Injectable()
export class Hl7Intake {
  private readonly logger = new Logger('Hl7Intake');

  constructor(
    private readonly inbound: InboundMessageStore,
    private readonly events: IntakeEvents,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async receive(received: string, channel: Extract<InboundChannel, 'mllp' | 'http'>): Promise<Hl7Answer> {
    // HL7 v2 text has no NUL, and PostgreSQL text cannot hold one: such a message is stored with U+FFFD in its
    // place and refused (AR), rather than failing to store and being resent for ever.
    const hasNul = received.includes('\u0000');
    const raw = hasNul ? received.replace(/\u0000/g, '\ufffd') : received;
    let inboundId: number;
    try {
      inboundId = await this.inbound.receive(channel, 'hl7v2', raw, this.clock.now());
    } catch (err) {
      this.logger.error(`could not store an inbound HL7 message: ${(err as Error).message}`);
      throw new IntakeUnavailableError('the message could not be stored; it was not acknowledged: resend it');
    }
    if (hasNul)
      return this.answer(inboundId, null, controlIdOf(raw), {
        ack: 'AR',
        events: [],
        text: 'the message holds NUL characters (0x00), which HL7 v2 text may not contain',
        errorCode: ERROR_CODES.dataTypeError,
      });
    let message;
    try {
      message = parseHl7v2(raw);
    } catch (err) {
      if (!(err instanceof Hl7ParseError)) throw err;
      return this.answer(inboundId, null, controlIdOf(raw), {
        ack: 'AR',
        events: [],
        text: err.message,
        errorCode: ERROR_CODES.requiredFieldMissing,
      });
    }
    const decision = decideOru(message, {
      defaultUtcOffset: this.config.HL7_DEFAULT_UTC_OFFSET,
      patientIdTypes: ['MR', 'PI'],
    });
    const checked = this.checkContract(decision);
    try {
      await this.events.publish(checked.events);
    } catch (err) {
      // Stored but not queued: no ACK, so the sender resends (the stored copy stays, for the audit).
      await this.inbound
        .answer(
          inboundId,
          {
            ...this.identity(message),
            ackCode: 'AE',
            reason: 'not acknowledged: the event queue was unavailable',
            eventIds: [],
          },
          this.clock.now(),
        )
        .catch(() => undefined);
      throw err;
    }
    return this.answer(inboundId, message, field(message, 'MSH', 10), checked);
  }

  /** Events the mapping made must still pass the contract (a histology label too long, say): AE with the field. */
  private checkContract(decision: Hl7Decision): Hl7Decision {
    const { valid, problems } = this.events.check(decision.events);
    if (problems.length === 0) return decision;
    return {
      ack: 'AE',
      events: valid,
      text: [decision.ack === 'AA' ? '' : decision.text, ...problems].filter(Boolean).join('; '),
      errorCode: ERROR_CODES.applicationError,
    };
  }

  private identity(message: NonNullable<ReturnType<typeof parseHl7v2>>) {
    return {
      sender: senderOf(message),
      controlId: field(message, 'MSH', 10) || null,
      messageType: `${field(message, 'MSH', 9, 1)}^${field(message, 'MSH', 9, 2)}`,
    };
  }

  private async answer(
    inboundId: number,
    message: ReturnType<typeof parseHl7v2> | null,
    controlId: string,
    decision: Hl7Decision,
  ): Promise<Hl7Answer> {
    const now = this.clock.now();
    const ack = buildAck({
      code: decision.ack,
      message,
      controlId,
      text: decision.text,
      ...(decision.ack !== 'AA' ? { errorCode: decision.errorCode, errorLocation: decision.errorLocation } : {}),
      now,
    });
    await this.inbound.answer(
      inboundId,
      {
        ...(message ? this.identity(message) : { sender: null, controlId: controlId || null, messageType: null }),
        ackCode: decision.ack,
        reason: decision.ack === 'AA' ? null : decision.text,
        eventIds: decision.events.map((e) => e.eventId),
      },
      now,
    );
    // ids and codes only: the reason may name a report number, never a patient
    this.logger.log(`HL7 message ${inboundId} answered ${decision.ack} (${decision.events.length} events)`);
    return { code: decision.ack, ack, inboundId };
  }
}
