import { EVENT_TYPES, EventType, SCHEMA_VERSION } from '../events';
import { IsDateTimeWithOffset, IsExactly, IsOneOf, IsPlainObject, IsText, Optional, Required } from './rules';

export const EVENT_ID_MAX_LENGTH = 200;
export const PATIENT_ID_MAX_LENGTH = 100;
export const SOURCE_MAX_LENGTH = 100;
export const CORRELATION_ID_MAX_LENGTH = 200;

/**
 * The event id doubles as the BullMQ jobId, and BullMQ refuses custom ids that contain ':' or that are
 * integers ("42"; "042" is fine), so such ids are rejected here rather than failing at Queue.add.
 */
export function eventIdReason(value: string): string | undefined {
  if (value.includes(':')) return "must not contain ':'";
  if (String(parseInt(value, 10)) === value) return 'must not be an integer (BullMQ reserves integer job ids)';
  return undefined;
}

/**
 * The v1 envelope. The payload is only checked to be an object here; validateClinicalEvent then validates it
 * with the payload class for `type` (PAYLOAD_DTO_BY_TYPE).
 */
export class ClinicalEventEnvelopeDto {
  @Required()
  @IsText({ max: EVENT_ID_MAX_LENGTH, also: eventIdReason })
  eventId!: string;

  @Required()
  @IsOneOf(EVENT_TYPES, 'unknown event type')
  type!: EventType;

  @Required()
  @IsText({ max: PATIENT_ID_MAX_LENGTH })
  patientId!: string;

  @Required()
  @IsDateTimeWithOffset()
  occurredAt!: string;

  @Required()
  @IsText({ max: SOURCE_MAX_LENGTH })
  source!: string;

  @Required()
  @IsExactly(SCHEMA_VERSION)
  schemaVersion!: typeof SCHEMA_VERSION;

  @Optional()
  @IsText({ max: CORRELATION_ID_MAX_LENGTH })
  correlationId?: string;

  @Required()
  @IsPlainObject()
  payload!: Record<string, unknown>;
}
