import { plainToInstance } from 'class-transformer';
import { ValidationError, ValidatorOptions, validateSync } from 'class-validator';
import { ClinicalEventEnvelopeDto, PAYLOAD_DTO_BY_TYPE, PayloadDtoClass } from './dto';
import { isPlainObject } from './dto/rules';
import { ClinicalEvent, EVENT_TYPES, EventType } from './events';

/** One thing wrong with an event: a dotted path ("payload.margin", "(root)") and a reason without the value. */
export interface FieldError {
  field: string;
  reason: string;
}

export type ClinicalEventValidationResult = { ok: true; event: ClinicalEvent } | { ok: false; errors: FieldError[] };

export const ROOT_FIELD = '(root)';
export const UNKNOWN_FIELD_REASON = 'unknown field';

/** Thrown by parseClinicalEvent; the message lists every "field: reason". */
export class ClinicalEventValidationError extends Error {
  readonly errors: FieldError[];

  constructor(errors: FieldError[]) {
    super(`invalid clinical event: ${errors.map((e) => `${e.field}: ${e.reason}`).join('; ')}`);
    this.name = 'ClinicalEventValidationError';
    this.errors = errors;
  }
}

const VALIDATOR_OPTIONS: ValidatorOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  stopAtFirstError: true,
  // keep values (possibly patient-identifying) out of ValidationError objects
  validationError: { target: false, value: false },
};

/** Field names come from the input: keep them printable and short in error paths. */
function fieldName(key: string): string {
  return key.length > 100 ? `${key.slice(0, 100)}…` : key;
}

function flatten(errors: ValidationError[], prefix: string, out: FieldError[]): void {
  for (const error of errors) {
    const field = prefix + fieldName(error.property);
    for (const [constraint, message] of Object.entries(error.constraints ?? {})) {
      out.push({ field, reason: constraint === 'whitelistValidation' ? UNKNOWN_FIELD_REASON : message });
    }
    if (error.children?.length) flatten(error.children, `${field}.`, out);
  }
}

/** Validates one object against a DTO class, reporting unknown fields by name. */
function validateAgainst(cls: PayloadDtoClass, input: Record<string, unknown>, prefix: string): FieldError[] {
  const instance = plainToInstance(cls, input) as object;
  const errors: FieldError[] = [];
  // class-transformer silently drops some keys ('__proto__', 'constructor'); they are unknown fields too.
  for (const key of Object.keys(input)) {
    if (!Object.prototype.hasOwnProperty.call(instance, key)) {
      errors.push({ field: prefix + fieldName(key), reason: UNKNOWN_FIELD_REASON });
    }
  }
  flatten(validateSync(instance, VALIDATOR_OPTIONS), prefix, errors);
  return errors;
}

function isEventType(value: unknown): value is EventType {
  return (EVENT_TYPES as readonly unknown[]).includes(value);
}

/**
 * Validates an incoming v1 clinical event: the envelope first, then the payload with the class for its `type`.
 * Unknown fields anywhere are errors. On success `event` is a fresh plain object with exactly the input's fields.
 */
export function validateClinicalEvent(input: unknown): ClinicalEventValidationResult {
  if (!isPlainObject(input)) {
    return { ok: false, errors: [{ field: ROOT_FIELD, reason: 'must be a JSON object' }] };
  }
  const errors = validateAgainst(ClinicalEventEnvelopeDto, input, '');
  const { type, payload } = input;
  if (isEventType(type) && isPlainObject(payload)) {
    errors.push(...validateAgainst(PAYLOAD_DTO_BY_TYPE[type], payload, 'payload.'));
  }
  if (errors.length > 0) return { ok: false, errors };
  // Every validated field is a primitive except the payload, so this is a full copy.
  const event = { ...input, payload: { ...(payload as Record<string, unknown>) } } as unknown as ClinicalEvent;
  return { ok: true, event };
}

/** validateClinicalEvent, throwing ClinicalEventValidationError on invalid input. */
export function parseClinicalEvent(input: unknown): ClinicalEvent {
  const result = validateClinicalEvent(input);
  if (!result.ok) throw new ClinicalEventValidationError(result.errors);
  return result.event;
}
