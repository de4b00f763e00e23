/**
 * Property-based fuzzing of the event contract (issue 6, bad input): tens of thousands of generated events, valid
 * ones and ones broken in a known way (a field removed, a value of the wrong type, an impossible date or time zone,
 * text too long or with NUL, control characters or half a surrogate pair, unknown fields, nesting bombs, not an
 * object at all). Every broken one is refused with the field and a reason that never repeats the value; every valid
 * one is accepted, and holds only text PostgreSQL and a log line can take. Generators: test/fuzz/arbitraries.ts.
 */
import fc from 'fast-check';
import {
  malformedEvent,
  nastyString,
  nest,
  stringsIn,
  uncleanText,
  validEvent,
  VALUE_MARKER,
} from '../../../test/fuzz/arbitraries';
import { TOO_DEEP_REASON, validateClinicalEvent, type FieldError } from './index';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const DATE_FIELDS = ['diagnosisDate', 'performedAt', 'completedAt', 'visitedAt'];

function describeErrors(errors: FieldError[]): string {
  return JSON.stringify(errors).slice(0, 500);
}

describe('validateClinicalEvent under fuzzing', () => {
  it(`refuses ${RUNS} malformed events, each with the broken fields named and reasons that never echo a value`, () => {
    let refused = 0;
    fc.assert(
      fc.property(malformedEvent, ({ input, expected, deep, mutations }) => {
        const result = validateClinicalEvent(input);
        if (result.ok) throw new Error(`accepted after: ${mutations.join('; ')}`);
        refused += 1;
        const { errors } = result;
        for (const e of errors) {
          // a clear error: a field and a reason, both printable, neither quoting what was sent
          if (!e.field || !e.reason) throw new Error(`an error without field or reason: ${describeErrors(errors)}`);
          if (uncleanText(e.field) || uncleanText(e.reason))
            throw new Error(`unprintable error text: ${describeErrors(errors)}`);
          if (e.reason.includes(VALUE_MARKER) || e.field.includes(VALUE_MARKER))
            throw new Error(`an error repeats the submitted value: ${describeErrors(errors)}`);
        }
        for (const want of expected) {
          const found = errors.some((e) => e.field === want.field && (!want.reason || e.reason === want.reason));
          if (!found)
            throw new Error(
              `after ${mutations.join('; ')}: expected an error on ${want.field}${want.reason ? ` (${want.reason})` : ''}, got ${describeErrors(errors)}`,
            );
        }
        if (deep && (errors.length !== 1 || errors[0].reason !== TOO_DEEP_REASON))
          throw new Error(`a nesting bomb must stop validation with one error: ${describeErrors(errors)}`);
      }),
      { numRuns: RUNS },
    );
    expect(refused).toBe(RUNS);
    process.stdout.write(`[fuzz] contract: ${RUNS} malformed events refused, each naming the broken fields\n`);
  });

  it(`accepts ${RUNS / 5} valid events of every type (SQL and HTML text included), unchanged`, () => {
    fc.assert(
      fc.property(validEvent, (input) => {
        const result = validateClinicalEvent(input);
        if (!result.ok) throw new Error(`refused a valid event: ${describeErrors(result.errors)}`);
        expect(result.event).toEqual(input);
      }),
      { numRuns: RUNS / 5 },
    );
  });

  it(`never throws on ${RUNS / 5} arbitrary values, and what it accepts is clean text in the years 1900-2199`, () => {
    const anyField = fc.oneof(fc.jsonValue({ maxDepth: 3 }), nastyString, fc.constant(nest(200)));
    const arbitrary = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.anything({ maxDepth: 3 }),
      // a valid event with one field replaced by anything at all (sometimes valid, mostly not)
      fc.tuple(validEvent, fc.boolean(), fc.nat(), anyField).map(([event, inPayload, i, value]) => {
        const target = inPayload ? (event.payload as Record<string, unknown>) : event;
        const keys = Object.keys(target);
        if (keys.length > 0) target[keys[i % keys.length]] = value;
        return event;
      }),
    );
    let accepted = 0;
    fc.assert(
      fc.property(arbitrary, (input) => {
        const result = validateClinicalEvent(input);
        if (!result.ok) {
          expect(result.errors.length).toBeGreaterThan(0);
          return;
        }
        accepted += 1;
        for (const text of stringsIn(result.event)) {
          const problem = uncleanText(text);
          const isNote = (result.event.payload as { note?: string }).note === text;
          if (problem && !(isNote && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)))
            throw new Error(`accepted ${problem} in ${JSON.stringify(text)}`);
          if (/\u0000/.test(text)) throw new Error('accepted a NUL character');
        }
        const payload = result.event.payload as Record<string, unknown>;
        for (const at of [result.event.occurredAt, ...DATE_FIELDS.map((f) => payload[f])])
          if (typeof at === 'string') {
            const year = Number(at.slice(0, 4));
            if (!(year >= 1900 && year <= 2199)) throw new Error(`accepted the date ${at}`);
          }
      }),
      { numRuns: RUNS / 5 },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it('answers a 100,000-level nesting bomb at once, naming the field', () => {
    const started = Date.now();
    const result = validateClinicalEvent({ eventId: 'e-1', payload: nest(100_000) });
    expect(result).toEqual({ ok: false, errors: [{ field: 'payload', reason: TOO_DEEP_REASON }] });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('what fuzzing found (kept as plain regressions)', () => {
  const visit = {
    eventId: 'e-1',
    type: 'clinic.visited',
    patientId: 'MRN-1',
    occurredAt: '2025-02-03T09:00:00Z',
    source: 'opd',
    schemaVersion: 1,
    payload: { visitedAt: '2025-02-03T09:00:00Z' },
  };
  const errors = (input: unknown) => {
    const result = validateClinicalEvent(input);
    return result.ok ? [] : result.errors;
  };

  it('a field named constructor holding an object is an unknown field (class-transformer threw a TypeError)', () => {
    expect(errors({ ...visit, payload: { ...visit.payload, constructor: {} } })).toEqual([
      { field: 'payload.constructor', reason: 'unknown field' },
    ]);
    expect(errors(JSON.parse('{"__proto__": {"x": 1}, "toString": {}}'))).toEqual(
      expect.arrayContaining([
        { field: '__proto__', reason: 'unknown field' },
        { field: 'toString', reason: 'unknown field' },
      ]),
    );
  });

  it('refuses NUL, control characters and half surrogate pairs in text (PostgreSQL refused them after a 202)', () => {
    expect(errors({ ...visit, patientId: 'MRN\u00001' })).toEqual([
      { field: 'patientId', reason: 'must not contain control characters' },
    ]);
    expect(errors({ ...visit, eventId: 'e-1\nforged log line' })).toEqual([
      { field: 'eventId', reason: 'must not contain control characters' },
    ]);
    expect(errors({ ...visit, source: 'lab\ud800' })).toEqual([
      { field: 'source', reason: 'must be well-formed Unicode (no unpaired UTF-16 surrogates)' },
    ]);
    expect(errors({ ...visit, source: 'lab 😀' })).toEqual([]);
    const deceased = { ...visit, type: 'patient.deceased', payload: { note: 'line one\r\n\tline two' } };
    expect(errors(deceased)).toEqual([]);
    expect(errors({ ...deceased, payload: { note: 'bell\u0007' } })).toEqual([
      {
        field: 'payload.note',
        reason: 'must not contain control characters other than tab, line feed and carriage return',
      },
    ]);
  });

  it('refuses years outside 1900-2199 (a plan from 9999 runs past what PostgreSQL holds), names a NUL key printably', () => {
    expect(errors({ ...visit, occurredAt: '1066-10-14T09:00:00Z' })).toEqual([
      { field: 'occurredAt', reason: 'must be in the years 1900 to 2199' },
    ]);
    expect(errors({ ...visit, payload: { visitedAt: '9999-12-31T23:59:59-14:00' } })).toEqual([
      { field: 'payload.visitedAt', reason: 'must be in the years 1900 to 2199' },
    ]);
    expect(errors({ ...visit, 'a\u0000b': 1, '': 2 })).toEqual([
      { field: 'a\ufffdb', reason: 'unknown field' },
      { field: '(empty field name)', reason: 'unknown field' },
    ]);
  });
});
