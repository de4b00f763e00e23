/**
 * Malformed FHIR R4 Bundles for the fuzz tests: the pathology bundle of libs/interop/src/fhir/testing.ts with any node
 * replaced by a value of another JSON type (an object where an array belongs, a number for a reference, a huge or
 * hostile string), removed, doubled or buried under deep nesting; and JSON that is not a Bundle at all. The patient's
 * identifier carries PHI_MARKER.
 */
import fc from 'fast-check';
import { pathologyBundle } from '../../libs/interop/src/fhir/testing';
import { nastyString, nest, ODD_UNICODE, SQL_INJECTION } from './arbitraries';
import { PHI_MARKER } from './hl7-arbitraries';

const pick = <T>(values: readonly T[]) => fc.constantFrom(...values);

const fhirDate = fc.oneof(
  pick([
    '2025-06-10T14:30:00+02:00',
    '2025-06-10T14:30:00Z',
    '2025-06-10',
    '2025-06-10T14:30:00',
    '2025-02-30T00:00:00Z',
  ]),
  pick(['T'.repeat(50_000), `${'T'.repeat(20_000)}Z`, '0000-01-01T00:00:00Z', '9999-12-31T23:59:59+14:00']),
  nastyString,
);

const bundle = fc
  .record({
    mrn: fc.oneof(fc.string({ maxLength: 12 }), nastyString).map((s) => `${PHI_MARKER}${s}`),
    reportId: fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), nastyString),
    status: pick(['final', 'amended', 'corrected', 'preliminary', 'entered-in-error', '']),
    issued: fhirDate,
    margin: pick(['R0', 'R1', 'R2', null] as const),
    grade: pick([1, 2, 3, null] as const),
    depth: pick(['superficial', 'deep', null] as const),
    sizeCm: fc.oneof(fc.double(), fc.constant(null)),
    histology: fc.oneof(fc.string({ maxLength: 20 }), nastyString, pick([...SQL_INJECTION, ...ODD_UNICODE])),
  })
  .map((r) => pathologyBundle(r) as unknown as Record<string, unknown>);

/** Any JSON value, or one of the shapes a careless or hostile client sends. */
const replacement: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 4 },
  { arbitrary: nastyString, weight: 3 },
  { arbitrary: pick([null, true, 0, -1, 1e308, [], {}, [null], [[]], { reference: 42 }]), weight: 2 },
  { arbitrary: fc.integer({ min: 20, max: 300 }).map((d) => nest(d)), weight: 1 },
);

/** Every path (keys and array indexes) to a node of a JSON value. */
function paths(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []) {
  if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      const path = [...prefix, Array.isArray(value) ? Number(k) : k];
      out.push(path);
      paths(v, path, out);
    }
  return out;
}

type Op = 'replace' | 'delete' | 'wrap' | 'double';

function mutate(root: Record<string, unknown>, path: (string | number)[], op: Op, value: unknown): void {
  let parent: Record<string | number, unknown> = root;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const key = path[path.length - 1];
  // a copy: fast-check hands out one instance of a constant ([[]], {}), and placing it twice, once inside itself,
  // made a cycle (paths() then recursed until the stack ran out)
  if (op === 'replace') parent[key] = structuredClone(value);
  else if (op === 'wrap') parent[key] = [parent[key]];
  else if (op === 'double' && Array.isArray(parent)) parent.push(structuredClone(parent[key as number]));
  else if (Array.isArray(parent)) parent.splice(key as number, 1);
  else delete parent[key];
}

/** Bundles broken in one to four places, and JSON that is not a Bundle. */
export const malformedBundle: fc.Arbitrary<unknown> = fc.oneof(
  {
    arbitrary: bundle.chain((b) => {
      const all = paths(b);
      return fc
        .array(fc.tuple(fc.nat(), pick<Op>(['replace', 'replace', 'delete', 'wrap', 'double']), replacement), {
          minLength: 1,
          maxLength: 4,
        })
        .map((edits) => {
          const copy = structuredClone(b);
          for (const [i, op, value] of edits) {
            const live = paths(copy);
            if (live.length === 0) break;
            mutate(copy, live[i % live.length] ?? all[0], op, value);
          }
          return copy;
        });
    }),
    weight: 8,
  },
  { arbitrary: bundle, weight: 2 },
  { arbitrary: fc.oneof(fc.jsonValue({ maxDepth: 3 }), nastyString), weight: 1 },
  {
    arbitrary: fc
      .dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 })
      .map((d) => ({ ...d, resourceType: 'Bundle' })),
    weight: 1,
  },
);
