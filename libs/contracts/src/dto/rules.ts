/**
 * The handful of validation rules the v1 contract uses, as class-validator decorators.
 *
 * Each rule is one check with one reason, so a field reports exactly one thing wrong with it and the reason
 * never depends on the order decorators happen to be evaluated in. Reasons never echo the offending value:
 * they end up in dead-letter rows, logs and HTTP responses, and values may be patient-identifying.
 */
import { IsDefined, ValidateIf, ValidationOptions, isISO8601, registerDecorator } from 'class-validator';

/** Returns the reason the value is invalid, or undefined when it is valid. */
type Check = (value: unknown) => string | undefined;

function rule(name: string, check: Check, options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: String(propertyName),
      options,
      validator: {
        validate: (value: unknown) => check(value) === undefined,
        defaultMessage: (args) => check(args?.value) ?? 'is invalid',
      },
    });
  };
}

/** The field must be present and not null. */
export const Required = (): PropertyDecorator => IsDefined({ message: 'is required' });

/**
 * The field may be absent; when present it is validated by the other rules (so an explicit `null` is
 * rejected: the v1 contract has no nullable fields).
 */
export const Optional = (): PropertyDecorator => ValidateIf((_object: object, value: unknown) => value !== undefined);

export interface TextOptions {
  /** Maximum length in characters (UTF-16 code units). */
  max: number;
  /** Free text (notes): tab, line feed and carriage return are allowed; other control characters never are. */
  multiline?: boolean;
  /** Extra check on a string that is otherwise fine; returns the reason or undefined. */
  also?: (value: string) => string | undefined;
}

export const CONTROL_CHARACTER_REASON = 'must not contain control characters';
export const MULTILINE_CONTROL_CHARACTER_REASON =
  'must not contain control characters other than tab, line feed and carriage return';
export const UNPAIRED_SURROGATE_REASON = 'must be well-formed Unicode (no unpaired UTF-16 surrogates)';

/**
 * Why a string is not storable, printable text, or undefined: NUL (which PostgreSQL text and jsonb cannot hold),
 * other C0 control characters and DEL (a line break in an id forges log lines), and half a surrogate pair (which
 * jsonb refuses). One pass over the string, so a long value costs what its length costs.
 */
export function textFormReason(value: string, multiline = false): string | undefined {
  for (let i = 0; i < value.length; i += 1) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) {
      if (multiline && (c === 0x09 || c === 0x0a || c === 0x0d)) continue;
      return multiline ? MULTILINE_CONTROL_CHARACTER_REASON : CONTROL_CHARACTER_REASON;
    }
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i += 1;
        continue;
      }
      return UNPAIRED_SURROGATE_REASON;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return UNPAIRED_SURROGATE_REASON;
  }
  return undefined;
}

/** A non-blank string of at most `max` characters, of printable, well-formed text. */
export const IsText = ({ max, multiline, also }: TextOptions): PropertyDecorator =>
  rule('isText', (value) => {
    if (typeof value !== 'string') return 'must be a string';
    if (value.trim().length === 0) return 'must not be empty';
    if (value.length > max) return `must be at most ${max} characters`;
    return textFormReason(value, multiline) ?? also?.(value);
  });

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

const DATE_TIME_REASON =
  'must be an ISO 8601 date-time with a UTC offset, e.g. 2025-03-14T09:30:00+01:00 or 2025-03-14T08:30:00Z';

function dateTimeWithOffsetReason(value: unknown): string | undefined {
  if (typeof value !== 'string') return DATE_TIME_REASON;
  const match = DATE_TIME_WITH_OFFSET.exec(value);
  if (!match) return DATE_TIME_REASON;
  const [, offsetHours, offsetMinutes] = match;
  if (offsetHours !== undefined && (Number(offsetHours) > 14 || Number(offsetMinutes) > 59)) {
    return DATE_TIME_REASON;
  }
  // strict: rejects calendar-impossible dates (2025-02-30) and out-of-range times (24:61).
  if (!isISO8601(value, { strict: true, strictSeparator: true }) || Number.isNaN(Date.parse(value))) {
    return 'is not a valid calendar date-time';
  }
  return yearReason(value);
}

/** Clinical dates this service can hold: PostgreSQL has no year 0, and a plan years ahead of 9999 cannot be stored. */
export const EARLIEST_YEAR = 1900;
export const LATEST_YEAR = 2199;
export const YEAR_RANGE_REASON = `must be in the years ${EARLIEST_YEAR} to ${LATEST_YEAR}`;

function yearReason(value: string): string | undefined {
  const year = Number(value.slice(0, 4));
  return year < EARLIEST_YEAR || year > LATEST_YEAR ? YEAR_RANGE_REASON : undefined;
}

/** ISO 8601 date-time with seconds optional and a mandatory offset (`Z` or `±hh:mm`). */
export const IsDateTimeWithOffset = (): PropertyDecorator => rule('isDateTimeWithOffset', dateTimeWithOffsetReason);

const DATE_OR_DATE_TIME_REASON =
  'must be an ISO 8601 date (YYYY-MM-DD) or a date-time with a UTC offset, e.g. 2025-03-14 or 2025-03-14T09:30:00+01:00';

/** ISO 8601 calendar date (`YYYY-MM-DD`) or a date-time with offset as for IsDateTimeWithOffset. */
export const IsDateOrDateTime = (): PropertyDecorator =>
  rule('isDateOrDateTime', (value) => {
    if (typeof value === 'string' && DATE.test(value)) {
      return isISO8601(value, { strict: true }) ? yearReason(value) : 'is not a valid calendar date';
    }
    const reason = dateTimeWithOffsetReason(value);
    return reason === DATE_TIME_REASON ? DATE_OR_DATE_TIME_REASON : reason;
  });

/** One of a fixed list of values, compared with `===` (so the string "2" is not the number 2). */
export const IsOneOf = (values: readonly (string | number)[], what?: string): PropertyDecorator => {
  const list = values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ');
  const reason = what ? `${what}; must be one of: ${list}` : `must be one of: ${list}`;
  return rule('isOneOf', (value) => (values.includes(value as string | number) ? undefined : reason));
};

/** Exactly this value. */
export const IsExactly = (expected: string | number): PropertyDecorator =>
  rule('isExactly', (value) => (value === expected ? undefined : `must be ${JSON.stringify(expected)}`));

export interface NumberOptions {
  /** Exclusive lower bound. */
  greaterThan?: number;
  /** Inclusive lower bound. */
  min?: number;
}

/** A finite JSON number (not a numeric string), optionally bounded below. */
export const IsFiniteNumber = ({ greaterThan, min }: NumberOptions = {}): PropertyDecorator =>
  rule('isFiniteNumber', (value) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a finite number';
    if (greaterThan !== undefined && !(value > greaterThan)) return `must be greater than ${greaterThan}`;
    if (min !== undefined && value < min) return `must be at least ${min}`;
    return undefined;
  });

/** A JSON object (not null, not an array). */
export const IsPlainObject = (): PropertyDecorator =>
  rule('isPlainObject', (value) => (isPlainObject(value) ? undefined : 'must be an object'));

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
