import { getMetadataStorage, ValidationError, ValidatorOptions, validateSync } from 'class-validator';
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

/**
 * Field names come from the input: keep them short and printable in error paths (a control character, NUL included,
 * or half a surrogate pair becomes U+FFFD), so an error can be logged, returned and stored as it is.
 */
export function printableFieldName(key: string): string {
  const short = key.length > 100 ? `${key.slice(0, 100)}…` : key === '' ? '(empty field name)' : key;
  return short.replace(
    /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    '\ufffd',
  );
}

function flatten(errors: ValidationError[], prefix: string, out: FieldError[]): void {
  for (const error of errors) {
    const field = prefix + printableFieldName(error.property);
    for (const [constraint, message] of Object.entries(error.constraints ?? {})) {
      out.push({ field, reason: constraint === 'whitelistValidation' ? UNKNOWN_FIELD_REASON : message });
    }
    if (error.children?.length) flatten(error.children, `${field}.`, out);
  }
}

/** The fields a DTO class declares (its validation decorators), cached per class. */
const DECLARED = new Map<PayloadDtoClass, ReadonlySet<string>>();

function declaredFields(cls: PayloadDtoClass): ReadonlySet<string> {
  let fields = DECLARED.get(cls);
  if (!fields) {
    fields = new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(cls, '', true, false)
        .map((m) => m.propertyName),
    );
    DECLARED.set(cls, fields);
  }
  return fields;
}

/**
 * Validates one object against a DTO class, reporting unknown fields by name. The instance class-validator checks is
 * built from the declared fields only (no class-transformer: it throws on a field named `constructor` holding an
 * object, and walks whatever nesting it is given), so any key at all is just an unknown field.
 */
function validateAgainst(cls: PayloadDtoClass, input: Record<string, unknown>, prefix: string): FieldError[] {
  const declared = declaredFields(cls);
  const instance = new cls() as Record<string, unknown>;
  const errors: FieldError[] = [];
  for (const key of Object.keys(input)) {
    if (declared.has(key)) instance[key] = input[key];
    else errors.push({ field: prefix + printableFieldName(key), reason: UNKNOWN_FIELD_REASON });
  }
  flatten(validateSync(instance, VALIDATOR_OPTIONS), prefix, errors);
  return errors;
}

/** No v1 event nests deeper than 3 levels (envelope, payload, `missing`); this leaves room, and bounds the work. */
export const MAX_NESTING_DEPTH = 16;
export const TOO_DEEP_REASON = `is nested more than ${MAX_NESTING_DEPTH} levels deep`;

/**
 * The top-level field under which the input nests objects or arrays deeper than MAX_NESTING_DEPTH, or undefined.
 * Iterative, and it stops at the limit: a body of 100,000 nested arrays costs a few steps, never the stack that
 * class-transformer, JSON.stringify or PostgreSQL's jsonb would spend on it.
 */
function tooDeep(input: Record<string, unknown>): string | undefined {
  for (const [key, value] of Object.entries(input)) {
    const stack: { value: unknown; depth: number }[] = [{ value, depth: 2 }];
    while (stack.length > 0) {
      const { value: current, depth } = stack.pop()!;
      if (typeof current !== 'object' || current === null) continue;
      if (depth > MAX_NESTING_DEPTH) return key;
      for (const child of Object.values(current)) stack.push({ value: child, depth: depth + 1 });
    }
  }
  return undefined;
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
  const deep = tooDeep(input);
  if (deep !== undefined) return { ok: false, errors: [{ field: printableFieldName(deep), reason: TOO_DEEP_REASON }] };
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
