/**
 * POST /fhir under fuzzing against the real api (issue 6, bad input): 4,000 malformed Bundles (nodes of the wrong JSON
 * type, missing, doubled or nested deep, hostile or huge strings, JSON that is not a Bundle), on top of the 10,000 of
 * libs/interop/src/fhir/diagnostic-report.fuzz.spec.ts through the same mapping. Each is stored as sent and answered
 * with an OperationOutcome: 200 (events), 422 (nothing usable) or 400/413 (not JSON, too large); never a 5xx, never the
 * patient's identifier in an answer, memory flat.
 */
import type { INestApplication } from '@nestjs/common';
import { startApi, seedDemoTeams } from '../support/api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { UpstreamPublisher, uniquePrefix } from '../support/queues';
import { nestedJsonText } from './arbitraries';
import { malformedBundle } from './fhir-arbitraries';
import { assertNoLeak, FUZZ_SEED, generated, heapAfterGcMb, inParallel, report, send, transport } from './harness';
import { PHI_MARKER } from './hl7-arbitraries';

const BUNDLES = Number(process.env.FUZZ_FHIR ?? 4_000);
const HEADERS = { authorization: 'Bearer demo-integration-key', 'content-type': 'application/fhir+json' };

let db: TestDatabase;
let api: INestApplication;
let queue: UpstreamPublisher;
let base: string;

beforeAll(async () => {
  db = await createTestDatabase('fuzz_fhir');
  await seedDemoTeams(db.pool);
  const prefix = uniquePrefix('fuzz-fhir');
  queue = new UpstreamPublisher(prefix);
  ({ app: api, base } = await startApi({ databaseUrl: db.url, prefix, config: { INTAKE_RATE_LIMIT: 0 } }));
});
afterAll(async () => {
  await api?.close();
  await queue?.destroy();
  await db?.drop();
});

async function post(body: string): Promise<{ status: number; outcome: any }> {
  const res = await send(`${base}/fhir`, { method: 'POST', headers: HEADERS, body });
  const text = await res.text();
  assertNoLeak(res.status, text, `POST /fhir ${body.slice(0, 120)}`);
  if (text.includes(PHI_MARKER))
    throw new Error(`the answer repeats the MRN (FUZZ_SEED=${FUZZ_SEED}): ${text.slice(0, 300)}`);
  expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
  const outcome = JSON.parse(text);
  if (outcome.resourceType !== 'OperationOutcome' || !outcome.issue?.[0]?.diagnostics)
    throw new Error(`${res.status} without an OperationOutcome (FUZZ_SEED=${FUZZ_SEED}): ${text.slice(0, 200)}`);
  return { status: res.status, outcome };
}

it(`answers ${BUNDLES} malformed bundles with an OperationOutcome, stores each, never a 5xx`, async () => {
  const heapBefore = await heapAfterGcMb();
  const started = Date.now();
  const byStatus: Record<number, number> = {};
  await inParallel(generated(malformedBundle, BUNDLES), 8, async (bundle) => {
    const body = JSON.stringify(bundle);
    const { status } = await post(body);
    // not an object (a bare string or number) is not a JSON body to body-parser's strict mode: 400
    const expected = typeof bundle === 'object' && bundle !== null ? [200, 422] : [400];
    if (!expected.includes(status)) throw new Error(`${status} for ${body.slice(0, 200)} (FUZZ_SEED=${FUZZ_SEED})`);
    byStatus[status] = (byStatus[status] ?? 0) + 1;
  });
  const seconds = (Date.now() - started) / 1000;
  const heapAfter = await heapAfterGcMb();
  const { rows } = await db.pool.query<{ n: number; unanswered: number }>(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE ack_code IS NULL)::int AS unanswered FROM inbound_messages WHERE channel = 'fhir'`,
  );
  // every bundle that was read (200 and 422) is on file with its answer
  expect(rows[0]).toEqual({ n: (byStatus[200] ?? 0) + (byStatus[422] ?? 0), unanswered: 0 });
  expect(byStatus[200]).toBeGreaterThan(0);
  expect(byStatus[422]).toBeGreaterThan(0);
  report(
    `FHIR: ${BUNDLES} malformed bundles: ${JSON.stringify(byStatus)}, 0 × 5xx, all read ones stored, in ${seconds.toFixed(1)} s; ` +
      `heap after GC ${heapBefore} → ${heapAfter} MB (seed ${FUZZ_SEED}; ${transport.retries} transport retries)`,
  );
  expect(heapAfter - heapBefore).toBeLessThan(40);
}, 150_000);

it('answers JSON that is broken, too large or 400,000 levels deep with an OperationOutcome, and stores the raw text', async () => {
  expect((await post('{"resourceType": "Bundle", "entry": [')).status).toBe(400);
  const large = await post(JSON.stringify({ resourceType: 'Bundle', note: 'x'.repeat(1_000_001) }));
  expect(large).toMatchObject({ status: 413, outcome: { issue: [{ code: 'too-costly' }] } });
  // JSON.stringify could not re-serialise this one for storage: the raw text is what is stored
  const deep = `{"resourceType":"Bundle","entry":${nestedJsonText(400_000)}}`;
  expect((await post(deep)).status).toBe(422);
  const { rows } = await db.pool.query<{ length: number }>(
    `SELECT length(raw)::int AS length FROM inbound_messages WHERE channel = 'fhir' ORDER BY id DESC LIMIT 1`,
  );
  expect(rows[0].length).toBe(deep.length);
});
