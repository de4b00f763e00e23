/**
 * POST /events under fuzzing (issue 6, bad input), against the real api, Redis and PostgreSQL: 5,000 generated
 * malformed events (fields removed, wrong types, impossible dates and time zones, text too long or with NUL, control
 * characters or half surrogate pairs, unknown fields, nesting bombs, not an object) plus bodies that are not JSON, not
 * UTF-8, too large or 30,000 levels deep, and 250 valid events carrying SQL and HTML text. Every malformed one is a 4xx
 * naming the field and the reason, and is dead-lettered; every valid one is accepted; nothing is a 5xx or shows a
 * stack; the heap after a forced collection does not grow with the requests. With endpoints-http.int-spec.ts (6,000
 * more on the other routes with bodies and parameters, most of them malformed) that is over 10,000 malformed HTTP
 * requests. Generators: ./arbitraries.ts.
 */
import type { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import { startApi, seedDemoTeams } from '../support/api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { UpstreamPublisher, uniquePrefix } from '../support/queues';
import { malformedEvent, nestedJsonText, validEvent, VALUE_MARKER, type MalformedEvent } from './arbitraries';
import { assertNoLeak, FUZZ_SEED, generated, heapAfterGcMb, inParallel, report, send, transport } from './harness';

const MALFORMED = Number(process.env.FUZZ_HTTP_EVENTS ?? 5_000);
const VALID = Math.ceil(MALFORMED / 20);
const EVENT_BODY_LIMIT = 64 * 1024;
const HEADERS = { authorization: 'Bearer demo-integration-key', 'content-type': 'application/json' };

let db: TestDatabase;
let api: INestApplication;
let queue: UpstreamPublisher;
let base: string;

beforeAll(async () => {
  db = await createTestDatabase('fuzz_events');
  await seedDemoTeams(db.pool);
  const prefix = uniquePrefix('fuzz-events');
  queue = new UpstreamPublisher(prefix);
  // limits off: this file fuzzes input, test/access/hostile-callers.int-spec.ts the limits
  ({ app: api, base } = await startApi({
    databaseUrl: db.url,
    prefix,
    config: { INTAKE_RATE_LIMIT: 0, AUTH_FAILURE_LIMIT: 0 },
  }));
});
afterAll(async () => {
  await api?.close();
  await queue?.destroy();
  await db?.drop();
});

async function post(body: string, headers: Record<string, string> = HEADERS): Promise<{ status: number; json: any }> {
  const res = await send(`${base}/events`, { method: 'POST', headers, body });
  const text = await res.text();
  assertNoLeak(res.status, text, `POST /events ${body.slice(0, 120)}`);
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`a non-JSON answer ${res.status}: ${text.slice(0, 200)} (FUZZ_SEED=${FUZZ_SEED})`);
  }
  return { status: res.status, json };
}

it(`answers ${MALFORMED} malformed events with 400 (field and reason) or 413, dead-letters each, accepts ${VALID} valid ones`, async () => {
  const warmUp = [...generated(malformedEvent, 200, 100, 7)];
  await inParallel(warmUp, 8, async (m) => void (await post(JSON.stringify(m.input))));
  const heapBefore = await heapAfterGcMb();
  const started = Date.now();

  const counts = { 400: 0, 413: 0, deadLettered: new Set<number>(), valid: 0 };
  const check = async ({ input, expected, mutations }: MalformedEvent) => {
    const body = JSON.stringify(input);
    const { status, json } = await post(body);
    const what = `${mutations.join('; ')} (FUZZ_SEED=${FUZZ_SEED})`;
    if (Buffer.byteLength(body) > EVENT_BODY_LIMIT) {
      if (status !== 413) throw new Error(`${status} for a ${Buffer.byteLength(body)}-byte body: ${what}`);
      expect(json.errors).toEqual([{ field: '(root)', reason: `must be at most ${EVENT_BODY_LIMIT} bytes` }]);
      counts[413] += 1;
      return;
    }
    if (status !== 400) throw new Error(`${status} after ${what}: ${JSON.stringify(json).slice(0, 300)}`);
    counts[400] += 1;
    const errors = json.errors as { field: string; reason: string }[];
    // a non-object root may not even parse as a JSON body (body-parser takes objects and arrays only)
    const expectations: { field: string; reason?: string }[] =
      json.deadLetterId === undefined ? [{ field: '(root)' }] : expected;
    for (const want of expectations)
      if (!errors.some((e) => e.field === want.field && (!want.reason || e.reason === want.reason)))
        throw new Error(`no error on ${want.field} after ${what}: ${JSON.stringify(errors).slice(0, 300)}`);
    if (JSON.stringify(errors).includes(VALUE_MARKER)) throw new Error(`an error repeats a value: ${what}`);
    if (json.deadLetterId !== undefined) counts.deadLettered.add(json.deadLetterId as number);
  };
  await inParallel(generated(malformedEvent, MALFORMED), 8, check);

  await inParallel(generated(validEvent, VALID, 500, 1), 8, async (event, i) => {
    const unique = { ...event, eventId: `v${i}-${String(event.eventId).slice(0, 150)}` };
    const { status, json } = await post(JSON.stringify(unique));
    if (status !== 202) throw new Error(`a valid event answered ${status}: ${JSON.stringify(json).slice(0, 300)}`);
    counts.valid += 1;
  });
  const seconds = (Date.now() - started) / 1000;
  const heapAfter = await heapAfterGcMb();

  expect(counts[400] + counts[413]).toBe(MALFORMED);
  expect(counts.valid).toBe(VALID);
  // every dead-letter id answered is a row (identical inputs share one)
  const { rows } = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM dead_letters WHERE channel = 'http' AND id = ANY($1)`,
    [[...counts.deadLettered]],
  );
  expect(rows[0].n).toBe(counts.deadLettered.size);
  expect(counts.deadLettered.size).toBeGreaterThan(MALFORMED * 0.5);
  report(
    `POST /events: ${MALFORMED} malformed (${counts[400]} × 400, ${counts[413]} × 413, ${counts.deadLettered.size} dead letters), ` +
      `${VALID} valid (202), 0 × 5xx in ${seconds.toFixed(1)} s; heap after GC ${heapBefore} → ${heapAfter} MB (seed ${FUZZ_SEED}; ${transport.retries} transport retries)`,
  );
  // the api runs in this process: its heap is this heap; 11,000 requests must not leave their bodies behind
  expect(heapAfter - heapBefore).toBeLessThan(40);
}, 150_000);

it('refuses bodies that are not JSON, not in UTF-8, too large or 30,000 levels deep, in words of its own', async () => {
  const cases: [string, string | Buffer, Record<string, string>, number, RegExp][] = [
    ['truncated', '{"eventId": "e-1", "patientId": "MRN-SECRET-1', HEADERS, 400, /^the body is not valid JSON$/],
    ['a bare string', '"MRN-SECRET-1"', HEADERS, 400, /^the body is not valid JSON$/],
    ['NaN', '{"schemaVersion": NaN}', HEADERS, 400, /^the body is not valid JSON$/],
    ['65 kB', JSON.stringify({ note: 'x'.repeat(66_000) }), HEADERS, 413, /larger than 65536 bytes/],
    ['deep', `{"eventId":"e-1","payload":${nestedJsonText(30_000)}}`, HEADERS, 400, /^invalid clinical event$/],
    [
      'Latin-1',
      Buffer.from('{"eventId":"é-1"}', 'latin1'),
      { ...HEADERS, 'content-type': 'application/json; charset=iso-8859-1' },
      415,
      /encoding or character set/,
    ],
  ];
  for (const [label, body, headers, status, message] of cases) {
    const res = await send(`${base}/events`, { method: 'POST', headers, body });
    const text = await res.text();
    assertNoLeak(res.status, text, label);
    expect([label, res.status]).toEqual([label, status]);
    expect(JSON.parse(text).message).toMatch(message);
    // V8's own JSON error would quote the body: ours never does
    expect(text).not.toContain('MRN-SECRET-1');
  }
  // a body that is not JSON at all is not an event: 400 naming (root), with nothing to dead-letter
  const form = await post('eventId=e-1', { ...HEADERS, 'content-type': 'application/x-www-form-urlencoded' });
  expect(form.status).toBe(400);
  expect(form.json.errors).toEqual([{ field: '(root)', reason: 'must be a JSON object' }]);
});

it('stays fast on the worst single inputs (each answered within 2 s)', async () => {
  const worst = [
    JSON.stringify({ eventId: 'e-1', payload: { [`k${'x'.repeat(60_000)}`]: 1 } }),
    JSON.stringify(Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`f${i}`, i]))),
    JSON.stringify({ eventId: ' '.repeat(60_000), occurredAt: 'T'.repeat(1000) }),
    JSON.stringify(fc.sample(validEvent, { numRuns: 1, seed: 1 })[0]).replace(
      /"schemaVersion":1/,
      '"schemaVersion":1e309',
    ),
  ];
  for (const body of worst) {
    const started = Date.now();
    const res = await send(`${base}/events`, { method: 'POST', headers: HEADERS, body });
    assertNoLeak(res.status, await res.text(), body.slice(0, 80));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(Date.now() - started).toBeLessThan(2000);
  }
});
