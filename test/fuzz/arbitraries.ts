/**
 * Generators of hostile input for the fuzz tests (fast-check): strings that break things (NUL, control characters,
 * half surrogate pairs, bidi overrides, HL7 delimiters, SQL and HTML injection, huge values), bad dates and time
 * zones, deep nesting, and clinical events that are valid or malformed in a known way. The unit fuzz specs beside
 * the code (libs/contracts, libs/interop) and the integration fuzz tests in this folder share them.
 */
import fc from 'fast-check';
import {
  EVENT_TYPES,
  FNCLCC_GRADES,
  IMAGING_FINDINGS,
  IMAGING_MODALITIES,
  IMAGING_REGIONS,
  MARGINS,
  MDT_DECISIONS,
  PATHOLOGY_ITEMS,
  RADIOTHERAPY_SETTINGS,
  RECURRENCE_KINDS,
  REPORT_STATUSES,
  SURGICAL_PROCEDURES,
  TEXT_LIMITS,
  TUMOUR_DEPTHS,
  printableFieldName,
  type EventType,
} from '@app/contracts';

export const SQL_INJECTION = [
  "' OR '1'='1",
  "'; DROP TABLE patients; --",
  '" OR 1=1 --',
  "1'; SELECT pg_sleep(5); --",
  "') UNION SELECT secret_hash FROM api_keys --",
  '$1',
  "E'\\x27'",
  "%' AND 1=0 --",
  "Robert'); DELETE FROM clinical_events; --",
];
export const HTML_INJECTION = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  'javascript:alert(1)',
  '<svg/onload=alert(1)>',
  '{{7*7}}',
  '${7*7}',
  '<!--',
  ']]>',
  "<iframe src='//evil.example'>",
];
export const HL7_DELIMITERS = ['|', '^', '~', '\\', '&', '\r', '\n', '\x0b', '\x1c', '\x1c\r'];
/** Text that is valid Unicode but unusual: RTL override, BOM, zero-width, combining marks, astral, CJK. */
export const ODD_UNICODE = ['\u202e', '\ufeff', '\u200b', 'e\u0301', '😀', '𝔘𝔫𝔦', 'Ω≈ç√', '中文', 'Ａ', '\u00a0'];
/** Text PostgreSQL or a log line cannot take as it is. */
export const UNSTORABLE = ['\u0000', '\ud800', '\udfff', '\u0007', '\u001b[31m', '\u007f', '\u0008', '\u000b'];

/** Date-times the contract must refuse (impossible dates, no or malformed offsets, years PostgreSQL cannot hold). */
export const BAD_DATE_TIMES = [
  '2025-02-30T00:00:00Z',
  '2025-02-29T12:00:00Z',
  '2025-13-01T00:00:00Z',
  '2025-00-10T00:00:00Z',
  '2025-02-03T24:61:00Z',
  '2025-02-03T23:59:60Z',
  '2025-02-03T09:00:00',
  '2025-02-03T09:00:00+0100',
  '2025-02-03T09:00:00+15:00',
  '2025-02-03T09:00:00+01:60',
  '2025-02-03T09:00:00 +01:00',
  '2025-02-03 09:00:00Z',
  '20250203T090000Z',
  '2025-02-03T09Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59-14:00',
  '1899-12-31T23:59:59Z',
  '2200-01-01T00:00:00Z',
  '+002025-02-03T09:00:00Z',
  '2025-02-03T09:00:00.1234567890Z',
  '2025-W06-1T09:00:00Z',
  '1738569600',
  'yesterday',
  '2025-02-03T09:00:00Z ',
  ' 2025-02-03T09:00:00Z',
];
/** ...of which these are also not calendar dates (diagnosisDate takes YYYY-MM-DD as well). */
export const BAD_DATES = [...BAD_DATE_TIMES, '2025-02-30', '2025-2-3', '03/02/2025', '1899-12-31', '2200-01-01'];

const pick = <T>(values: readonly T[]) => fc.constantFrom(...values);

/** Any string, weighted towards what breaks parsers, databases and logs. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }), weight: 2 },
  {
    arbitrary: fc.string({
      unit: pick([...UNSTORABLE, ...ODD_UNICODE, ...HL7_DELIMITERS, 'a', ' ', ':', "'"]),
      minLength: 1,
      maxLength: 20,
    }),
    weight: 3,
  },
  { arbitrary: pick([...SQL_INJECTION, ...HTML_INJECTION, ...BAD_DATES, ...UNSTORABLE]), weight: 3 },
  {
    arbitrary: fc
      .tuple(pick(['x', ' ', '\u0000', 'é', '😀', '<', '|']), fc.integer({ min: 201, max: 20_000 }))
      .map(([c, n]) => c.repeat(n)),
    weight: 1,
  },
);

/** Arrays nested `depth` levels ([[[...]]]), built without recursion. */
export function nest(depth: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < depth; i += 1) value = [value];
  return value;
}

/** The JSON text of `depth` nested arrays (deeper than JSON.stringify could write). */
export function nestedJsonText(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

/** A value of the wrong JSON type for a string field (and, with strings, for a number or object field). */
const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

// ---------------------------------------------------------------------------------------------------------------
// The contract, field by field (docs/events.md): what a valid value is, and what certainly is not one.
// ---------------------------------------------------------------------------------------------------------------

type FieldKind =
  | { kind: 'id' | 'text'; max: number; multiline?: boolean }
  | { kind: 'enum'; values: readonly (string | number)[] }
  | { kind: 'dateTime' | 'dateOrDateTime' | 'positive' | 'nonNegative' | 'schemaVersion' | 'object' | 'items' };
export type FieldSpec = FieldKind & { name: string; required: boolean };

const text = (name: string, max: number, required = true): FieldSpec => ({ name, kind: 'text', max, required });
const oneOf = (name: string, values: readonly (string | number)[], required = true): FieldSpec => ({
  name,
  kind: 'enum',
  values,
  required,
});
const dateTime = (name: string): FieldSpec => ({ name, kind: 'dateTime', required: true });
const note: FieldSpec = { name: 'note', kind: 'text', max: TEXT_LIMITS.note, multiline: true, required: false };

export const ENVELOPE_FIELDS: FieldSpec[] = [
  { name: 'eventId', kind: 'id', max: 200, required: true },
  oneOf('type', EVENT_TYPES),
  text('patientId', 100),
  dateTime('occurredAt'),
  text('source', 100),
  { name: 'schemaVersion', kind: 'schemaVersion', required: true },
  text('correlationId', 200, false),
  { name: 'payload', kind: 'object', required: true },
];

export const PAYLOAD_FIELDS: Record<EventType, FieldSpec[]> = {
  'patient.registered': [
    text('primarySite', TEXT_LIMITS.label),
    { name: 'diagnosisDate', kind: 'dateOrDateTime', required: true },
    text('histology', TEXT_LIMITS.label, false),
    text('careTeam', TEXT_LIMITS.code, false),
  ],
  'surgery.performed': [oneOf('procedure', SURGICAL_PROCEDURES), dateTime('performedAt')],
  'pathology.reported': [
    text('reportId', TEXT_LIMITS.label),
    oneOf('status', REPORT_STATUSES),
    oneOf('margin', MARGINS),
    oneOf('grade', FNCLCC_GRADES),
    { name: 'sizeCm', kind: 'positive', required: true },
    oneOf('depth', TUMOUR_DEPTHS),
    text('histology', TEXT_LIMITS.label),
    { name: 'closestMarginMm', kind: 'nonNegative', required: false },
  ],
  'pathology.unstructured': [
    text('reportId', TEXT_LIMITS.label),
    oneOf('status', REPORT_STATUSES),
    { name: 'missing', kind: 'items', required: true },
  ],
  'mdt.decision': [oneOf('decision', MDT_DECISIONS), note],
  'radiotherapy.completed': [dateTime('completedAt'), oneOf('setting', RADIOTHERAPY_SETTINGS)],
  'imaging.reported': [
    oneOf('modality', IMAGING_MODALITIES),
    oneOf('region', IMAGING_REGIONS),
    oneOf('finding', IMAGING_FINDINGS),
  ],
  'clinic.visited': [dateTime('visitedAt')],
  'recurrence.detected': [oneOf('kind', RECURRENCE_KINDS), text('site', TEXT_LIMITS.label, false)],
  'patient.deceased': [note],
  'patient.transferred': [note],
};

/** Every generated text value carries this, so a test can tell that no error message or log line repeats one. */
export const VALUE_MARKER = '⟦v⟧';

const SAFE_TEXT = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_./()é中😀'];

/** A valid text value: the marker, then letters, digits, some Unicode, or an injection string, within `max`. */
function validText(max: number): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.string({ unit: pick(SAFE_TEXT), maxLength: 30 }),
      pick([...SQL_INJECTION, ...HTML_INJECTION, ...ODD_UNICODE.filter((s) => s.trim() !== '')]),
    )
    .map((s) => `${VALUE_MARKER}${s}`.slice(0, max).replace(/[\ud800-\udbff]$/, ''));
}

/** A valid date-time with an offset, years 1901–2198. */
export const validDateTime: fc.Arbitrary<string> = fc
  .tuple(
    fc.date({ min: new Date('1901-01-02T00:00:00Z'), max: new Date('2198-12-30T00:00:00Z'), noInvalidDate: true }),
    pick(['Z', '+00:00', '+01:00', '-05:00', '+05:30', '+14:00', '-12:00']),
    fc.boolean(),
  )
  .map(([date, offset, millis]) => {
    const iso = date.toISOString();
    return `${millis ? iso.slice(0, 23) : iso.slice(0, 19)}${offset}`;
  });

function validValue(spec: FieldSpec): fc.Arbitrary<unknown> {
  switch (spec.kind) {
    case 'id':
      return validText(spec.max - 2).map((s) => `e-${s.replace(/:/g, '-')}`);
    case 'text':
      return validText(spec.max);
    case 'enum':
      return pick(spec.values);
    case 'dateTime':
      return validDateTime;
    case 'dateOrDateTime':
      return fc.oneof(
        validDateTime,
        validDateTime.map((d) => d.slice(0, 10)),
      );
    case 'positive':
      return fc.double({ min: 0.01, max: 1000, noNaN: true });
    case 'nonNegative':
      return fc.double({ min: 0, max: 1000, noNaN: true });
    case 'schemaVersion':
      return fc.constant(1);
    case 'items':
      return fc.uniqueArray(pick(PATHOLOGY_ITEMS), { minLength: 1, maxLength: PATHOLOGY_ITEMS.length });
    case 'object':
      return fc.constant({});
  }
}

/** A text value that fails the contract: blank, too long, a control character or half a surrogate pair in it. */
function invalidText(max: number, multiline = false, id = false): fc.Arbitrary<unknown> {
  const controls = [...UNSTORABLE, ...(multiline ? [] : ['\t', '\n', '\r', '\r\n'])];
  const variants: fc.Arbitrary<unknown>[] = [
    wrongType,
    pick(['', ' ', '\t\n', '\u00a0 \u2003']),
    fc
      .tuple(pick([...'x é中', '😀', '|', "'"]), fc.integer({ min: 1, max: 5_000 }))
      .map(([c, extra]) => VALUE_MARKER + c.repeat(Math.ceil((max + extra) / c.length))),
    fc
      .tuple(validText(Math.max(4, max - 8)), pick(controls), fc.nat())
      .map(([s, bad, at]) => s.slice(0, at % (s.length + 1)) + bad + s.slice(at % (s.length + 1))),
  ];
  if (id)
    variants.push(
      validText(max - 4).map((s) => `${s}:x`),
      fc.integer().map(String),
    );
  return fc.oneof(...variants);
}

/** A value that certainly fails the field's rule. */
export function invalidValue(spec: FieldSpec): fc.Arbitrary<unknown> {
  switch (spec.kind) {
    case 'id':
      return invalidText(spec.max, false, true);
    case 'text':
      return invalidText(spec.max, spec.multiline);
    case 'enum': {
      const values = spec.values as readonly unknown[];
      return fc
        .oneof(
          nastyString,
          fc.integer({ min: -5, max: 10 }),
          pick(spec.values.map((v) => (typeof v === 'string' ? v.toUpperCase() : String(v)))),
          pick(spec.values.map((v) => (typeof v === 'string' ? ` ${v}` : v + 0.5))),
          wrongType,
        )
        .filter((v) => !values.includes(v));
    }
    case 'dateTime':
      return fc.oneof(
        pick([...BAD_DATE_TIMES, '2025-02-03']),
        wrongType,
        nastyString.filter((s) => !/^\d{4}-/.test(s)),
      );
    case 'dateOrDateTime':
      return fc.oneof(
        pick(BAD_DATES),
        wrongType,
        nastyString.filter((s) => !/^\d{4}-/.test(s)),
      );
    case 'positive':
      return fc.oneof(fc.double({ max: 0 }), fc.constant(Number.NaN), pick(['7.5', '1e3', Infinity]), fc.boolean());
    case 'nonNegative':
      return fc.oneof(fc.double({ max: -Number.MIN_VALUE }), pick(['0', Infinity, Number.NaN, null]), fc.boolean());
    case 'schemaVersion':
      return fc.oneof(
        fc.integer().filter((n) => n !== 1),
        pick(['1', 1.5, 2, 0, null, true, [1]]),
      );
    case 'items':
      return fc.oneof(
        wrongType.filter((v) => !Array.isArray(v)),
        fc.constant([]),
        fc.array(pick(PATHOLOGY_ITEMS), { minLength: PATHOLOGY_ITEMS.length + 1, maxLength: 20 }),
        fc
          .tuple(
            fc.uniqueArray(pick(PATHOLOGY_ITEMS), { maxLength: 3 }),
            nastyString.filter((s) => !(PATHOLOGY_ITEMS as readonly string[]).includes(s)),
          )
          .map(([ok, bad]) => [...ok, bad]),
      );
    case 'object':
      return fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), nastyString, fc.array(fc.integer()));
  }
}

/** A valid v1 clinical event of any type (every text value carries VALUE_MARKER). */
export const validEvent: fc.Arbitrary<Record<string, unknown>> = pick(EVENT_TYPES).chain((type) =>
  fc
    .tuple(
      fieldsOf(ENVELOPE_FIELDS.filter((f) => f.name !== 'type' && f.name !== 'payload')),
      fieldsOf(PAYLOAD_FIELDS[type]),
    )
    .map(([envelope, payload]) => ({ ...envelope, type, payload })),
);

function fieldsOf(specs: FieldSpec[]): fc.Arbitrary<Record<string, unknown>> {
  return fc.tuple(...specs.map((s) => fc.tuple(validValue(s), fc.boolean()))).map((values) => {
    const out: Record<string, unknown> = {};
    specs.forEach((spec, i) => {
      const [value, keepOptional] = values[i];
      if (spec.required || keepOptional) out[spec.name] = value;
    });
    return out;
  });
}

/** What a malformed event must be answered with: an error on each of these fields (with this reason, if given). */
export interface ExpectedError {
  field: string;
  reason?: string;
}

export interface MalformedEvent {
  input: unknown;
  expected: ExpectedError[];
  /** A nesting bomb: validation stops at it, with exactly one error. */
  deep: boolean;
  /** What was done, for the failure message. */
  mutations: string[];
}

const KNOWN_KEYS = new Set([
  ...ENVELOPE_FIELDS.map((f) => f.name),
  ...Object.values(PAYLOAD_FIELDS).flatMap((fs) => fs.map((f) => f.name)),
]);
const extraKey = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
    fc.string({ unit: pick([...UNSTORABLE, 'a', '.', ' ']), minLength: 1, maxLength: 8 }),
    pick([
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'patientName',
      'dateOfBirth',
      'EventId',
      'x'.repeat(300),
    ]),
  )
  .filter((k) => !KNOWN_KEYS.has(k));

function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A valid event with one to three fields broken (removed, a wrong value, an unknown field added) and what the
 * errors must name; or the whole input replaced by a non-object; or a nesting bomb somewhere in it.
 */
export const malformedEvent: fc.Arbitrary<MalformedEvent> = fc.oneof(
  { arbitrary: brokenFields(), weight: 8 },
  {
    arbitrary: fc
      .tuple(validEvent, fc.integer({ min: 16, max: 1_000 }), fc.boolean(), extraKey)
      .map(([event, depth, inPayload, key]) => {
        const copy = { ...event, payload: { ...(event.payload as object) } };
        if (inPayload) setKey(copy.payload, key, nest(depth));
        else setKey(copy, key, nest(depth));
        return {
          input: copy,
          expected: [{ field: inPayload ? 'payload' : printable(key), reason: 'is nested more than 16 levels deep' }],
          deep: true,
          mutations: [`nest ${depth} levels under ${inPayload ? 'payload.' : ''}${JSON.stringify(key)}`],
        };
      }),
    weight: 1,
  },
  {
    arbitrary: fc
      .oneof(nastyString, fc.integer(), fc.constant(null), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }))
      .map((input) => ({
        input,
        expected: [{ field: '(root)', reason: 'must be a JSON object' }],
        deep: false,
        mutations: ['not an object'],
      })),
    weight: 1,
  },
);

type Mutation = { at: 'envelope' | 'payload'; spec?: FieldSpec; op: 'delete' | 'invalid' | 'extra'; key?: string };

function brokenFields(): fc.Arbitrary<MalformedEvent> {
  return validEvent.chain((event) => {
    const type = event.type as EventType;
    const candidates: Mutation[] = [
      ...ENVELOPE_FIELDS.flatMap((spec): Mutation[] => [
        ...(spec.required ? [{ at: 'envelope' as const, spec, op: 'delete' as const }] : []),
        { at: 'envelope', spec, op: 'invalid' },
      ]),
      ...PAYLOAD_FIELDS[type].flatMap((spec): Mutation[] => [
        ...(spec.required ? [{ at: 'payload' as const, spec, op: 'delete' as const }] : []),
        { at: 'payload', spec, op: 'invalid' },
      ]),
      { at: 'envelope', op: 'extra' },
      { at: 'payload', op: 'extra' },
    ];
    return fc
      .shuffledSubarray(candidates, { minLength: 1, maxLength: 3 })
      .filter((ms) => new Set(ms.map((m) => `${m.at}.${m.spec?.name ?? m.op}`)).size === ms.length)
      .chain((mutations) =>
        fc.tuple(
          fc.constant(mutations),
          fc.tuple(
            ...mutations.map((m) =>
              m.op === 'invalid'
                ? invalidValue(m.spec!)
                : m.op === 'extra'
                  ? fc.tuple(extraKey, fc.jsonValue({ maxDepth: 2 }))
                  : fc.constant(undefined),
            ),
          ),
        ),
      )
      .map(([mutations, values]) => apply(event, mutations, values));
  });
}

function apply(event: Record<string, unknown>, mutations: Mutation[], values: unknown[]): MalformedEvent {
  const input: Record<string, unknown> = { ...event, payload: { ...(event.payload as object) } };
  const payload = input.payload as Record<string, unknown>;
  const expected: ExpectedError[] = [];
  const described: string[] = [];
  // When the type or the payload itself is broken, the payload's own fields are not checked (nothing to check against).
  const payloadChecked = !mutations.some(
    (m) => m.at === 'envelope' && (m.spec?.name === 'type' || m.spec?.name === 'payload'),
  );
  mutations.forEach((m, i) => {
    const target = m.at === 'envelope' ? input : payload;
    const prefix = m.at === 'envelope' ? '' : 'payload.';
    const counts = m.at === 'envelope' || payloadChecked;
    if (m.op === 'delete') {
      delete target[m.spec!.name];
      if (counts) expected.push({ field: prefix + m.spec!.name, reason: 'is required' });
      described.push(`delete ${prefix}${m.spec!.name}`);
    } else if (m.op === 'invalid') {
      target[m.spec!.name] = values[i];
      if (counts) expected.push({ field: prefix + m.spec!.name });
      described.push(`${prefix}${m.spec!.name} = ${preview(values[i])}`);
    } else {
      const [key, value] = values[i] as [string, unknown];
      setKey(target, key, value);
      if (counts) expected.push({ field: prefix + printable(key), reason: 'unknown field' });
      described.push(`add ${prefix}${JSON.stringify(key)}`);
    }
  });
  return { input, expected, deep: false, mutations: described };
}

/** The field name as errors print it (at most 100 characters, U+FFFD for the unprintable). */
export const printable = printableFieldName;

export function preview(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
  return text.length > 60 ? `${text.slice(0, 60)}… (${text.length} chars)` : text;
}

/** Why a string is not clean text (control character other than tab/LF/CR, or half a surrogate pair), or null. */
export function uncleanText(value: string): string | null {
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(value)) return 'a control character';
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value)) return 'a lone surrogate';
  return null;
}

/** Every string (keys and values) in a JSON-like value, walked without recursion. */
export function stringsIn(value: unknown): string[] {
  const out: string[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current === 'string') out.push(current);
    else if (current && typeof current === 'object')
      for (const [k, v] of Object.entries(current)) {
        if (!Array.isArray(current)) out.push(k);
        stack.push(v);
      }
  }
  return out;
}
