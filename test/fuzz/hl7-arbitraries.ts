/**
 * Malformed HL7 v2 messages for the fuzz tests: a sarcoma ORU^R01 (libs/interop/src/hl7v2/testing.ts) with hostile
 * values in its fields, segments dropped, doubled, shuffled, cut off or run together, other separators, other message
 * types, huge values; and text that is not HL7 at all. The patient's identifiers carry PHI_MARKER, so a test can
 * check that no ACK and no log line repeats them.
 */
import fc from 'fast-check';
import { sarcomaOru } from '../../libs/interop/src/hl7v2/testing';
import { HL7_DELIMITERS, nastyString, ODD_UNICODE, SQL_INJECTION, UNSTORABLE } from './arbitraries';

/** In every MRN, name and date of birth the generators write. */
export const PHI_MARKER = 'Qx7';

const pick = <T>(values: readonly T[]) => fc.constantFrom(...values);

const hl7Date = fc.oneof(
  pick(['202506101430+0200', '20250610', '2025061014', '202506101430', '20250610143000.1234-0500']),
  pick(['20251310', '20250230', '2025', '', '99999999999999', '202506101430+99', '0000010100', 'yesterday']),
  nastyString,
);

const fieldValue = fc.oneof(
  { arbitrary: nastyString, weight: 4 },
  { arbitrary: pick([...HL7_DELIMITERS, ...SQL_INJECTION, ...UNSTORABLE, ...ODD_UNICODE]), weight: 2 },
  { arbitrary: fc.string({ unit: pick(['^', '~', '&', '\\', 'a', '1']), maxLength: 30 }), weight: 1 },
);

/** A sarcoma ORU^R01 with its report's values drawn from valid and hostile ones. */
const oru = fc
  .record({
    controlId: fc.oneof(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 20 }), fieldValue),
    mrn: fc.oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 12 }), fieldValue).map((s) => `${PHI_MARKER}${s}`),
    reportId: fc.oneof(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 }), fieldValue),
    status: pick(['F', 'C', 'P'] as const),
    margin: pick(['R0', 'R1', 'R2', null] as const),
    grade: pick([1, 2, 3, null] as const),
    depth: pick(['superficial', 'deep', null] as const),
    sizeCm: fc.oneof(fc.double({ noNaN: false }), fc.constant(null)),
    closestMarginMm: fc.option(fc.double(), { nil: undefined }),
    histology: fc.oneof(fc.string({ maxLength: 20 }), fieldValue),
    reportedAt: hl7Date,
    separator: pick(['\r', '\n', '\r\n', ' ', '\r\r\n\n', '']),
  })
  .map((r) => ({ ...r, text: sarcomaOru(r) }));

type Edit =
  | { op: 'drop' | 'double' | 'truncate-segment'; at: number }
  | { op: 'field'; at: number; field: number; value: string }
  | { op: 'insert'; at: number; value: string }
  | { op: 'swap'; at: number; other: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: pick(['drop', 'double', 'truncate-segment'] as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('field' as const),
    at: fc.nat(),
    field: fc.integer({ min: 0, max: 30 }),
    value: fieldValue,
  }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    value: fc.oneof(
      fieldValue,
      pick(['MSH|^~\\&|X', 'PID|1||', 'OBR|', 'OBX|1|NM|58010.100004300^x^CAPECC||abc|km', 'ZZZ|1']),
    ),
  }),
  fc.record({ op: fc.constant('swap' as const), at: fc.nat(), other: fc.nat() }),
);

function applyEdits(text: string, edits: Edit[]): string {
  const segments = text.split(/\r\n|\r|\n/);
  for (const e of edits) {
    if (segments.length === 0) break;
    const i = e.at % segments.length;
    switch (e.op) {
      case 'drop':
        segments.splice(i, 1);
        break;
      case 'double':
        segments.splice(i, 0, segments[i]);
        break;
      case 'truncate-segment':
        segments[i] = segments[i].slice(0, e.at % (segments[i].length + 1));
        break;
      case 'field': {
        const fields = segments[i].split('|');
        fields[e.field % (fields.length + 1)] = e.value;
        segments[i] = fields.join('|');
        break;
      }
      case 'insert':
        segments.splice(i, 0, e.value);
        break;
      case 'swap': {
        const j = e.other % segments.length;
        [segments[i], segments[j]] = [segments[j], segments[i]];
        break;
      }
    }
  }
  return segments.join('\r');
}

/** Messages that are broken in every way a feed or an attacker could break one. */
export const malformedHl7: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc
      .tuple(oru, fc.array(edit, { minLength: 1, maxLength: 5 }))
      .map(([m, edits]) => applyEdits(m.text, edits)),
    weight: 8,
  },
  { arbitrary: oru.map((m) => m.text), weight: 2 },
  // another message type, another field separator, a cut-off message
  {
    arbitrary: fc
      .tuple(oru, pick(['ADT^A01', 'ACK', 'ORU^R30', '', '^^^', 'ORU^R01^ORU_R01^extra']))
      .map(([m, type]) => m.text.replace('ORU^R01^ORU_R01', type)),
    weight: 1,
  },
  {
    arbitrary: fc.tuple(oru, pick(['#', 'a', ' ', '\u0000', '^', '😀'])).map(([m, sep]) => m.text.replace(/\|/g, sep)),
    weight: 1,
  },
  { arbitrary: fc.tuple(oru, fc.nat()).map(([m, n]) => m.text.slice(0, n % (m.text.length + 1))), weight: 1 },
  // text that is not HL7 at all, or only starts like it
  { arbitrary: nastyString, weight: 2 },
  { arbitrary: nastyString.map((s) => `MSH${s}`), weight: 1 },
  { arbitrary: nastyString.map((s) => `MSH|^~\\&|${s}`), weight: 1 },
  // many segments, long values, long runs of spaces (the regular expressions' worst cases)
  {
    arbitrary: fc
      .tuple(oru, fc.integer({ min: 1_000, max: 20_000 }), pick([' ', 'OBX|', '|', '^', 'x', ' OBX|']))
      .map(([m, n, unit]) => `${m.text}\rOBX|1|ST|x||${unit.repeat(n)}`),
    weight: 1,
  },
);
