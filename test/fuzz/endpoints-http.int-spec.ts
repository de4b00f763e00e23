/**
 * The api's other routes with bodies and parameters under fuzzing (issue 6, bad input): task actions and reassignment,
 * dead-letter replay with broken corrected events, teams, members and keys, and the query strings and path parameters
 * of the worklist, tasks, patients, FHIR search, dead letters and inbound messages: 6,000 generated requests, against
 * the real api and PostgreSQL. Whatever is sent, the answer is a 2xx or a 4xx with a message (an OperationOutcome on
 * FHIR routes), never a 5xx or a stack trace, and the heap after a forced collection does not grow.
 */
import type { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import { startApi, seedDemoTeams } from '../support/api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { UpstreamPublisher, uniquePrefix } from '../support/queues';
import { malformedEvent, nastyString, nest, ODD_UNICODE, SQL_INJECTION } from './arbitraries';
import { assertNoLeak, FUZZ_SEED, generated, heapAfterGcMb, inParallel, report, send, transport } from './harness';

const REQUESTS = Number(process.env.FUZZ_HTTP_ENDPOINTS ?? 6_000);
const KEY = {
  integration: 'demo-integration-key',
  navigator: 'demo-navigator-key',
  lead: 'demo-lead-key',
  admin: 'demo-admin-key',
};

let db: TestDatabase;
let api: INestApplication;
let queue: UpstreamPublisher;
let base: string;

beforeAll(async () => {
  db = await createTestDatabase('fuzz_endpoints');
  await seedDemoTeams(db.pool);
  const prefix = uniquePrefix('fuzz-endpoints');
  queue = new UpstreamPublisher(prefix);
  ({ app: api, base } = await startApi({
    databaseUrl: db.url,
    prefix,
    config: { INTAKE_RATE_LIMIT: 0, AUTH_FAILURE_LIMIT: 0 },
  }));
  // five real dead letters (ids 1 to 5 in this fresh database), so replays reach the contract with a corrected event
  for (let i = 1; i <= 5; i += 1) {
    const res = await send(`${base}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY.integration}`, 'content-type': 'application/json' },
      body: JSON.stringify({ eventId: `e-${i}`, colour: 'blue' }),
    });
    expect(((await res.json()) as { deadLetterId?: number }).deadLetterId).toBe(i);
  }
});
afterAll(async () => {
  await api?.close();
  await queue?.destroy();
  await db?.drop();
});

const pick = <T>(values: readonly T[]) => fc.constantFrom(...values);
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** A path segment, percent-encoded (a lone surrogate as U+FFFD, as any client would), or bytes that are not UTF-8. */
const segment = fc.oneof(
  fc
    .oneof(
      fc.uuid().map(String),
      nastyString.filter((s) => s.length > 0 && s.length < 300),
      pick(['0', '-1', '1e3', '..', '%', '00000000-0000-4000-8000-00000000ffff', ...SQL_INJECTION]),
    )
    .map((s) => encodeURIComponent(s.replace(LONE_SURROGATE, '\ufffd'))),
  pick(['%FF', '%ED%A0%80', '%C0%AF', '%E0%80', '%00', '%2e%2e%2f%2e%2e', 'a%zz']),
);
const text = fc.oneof(nastyString, pick([...SQL_INJECTION, ...ODD_UNICODE]), fc.string({ maxLength: 600 }));
/** A JSON body as a careless or hostile client sends it: wrong types, unknown and prototype keys, nesting. */
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(
    pick(['reason', 'assigneeId', 'code', 'name', 'email', 'role', 'active', 'memberId', 'label', 'event']),
    fc.oneof(text, fc.jsonValue({ maxDepth: 2 })),
    { maxKeys: 4 },
  ),
  fc
    .tuple(pick(['constructor', '__proto__', 'prototype', 'toString']), fc.jsonValue({ maxDepth: 2 }))
    .map(([k, v]) => JSON.parse(`{"${k}": ${JSON.stringify(v)}}`) as unknown),
  fc.integer({ min: 17, max: 400 }).map((d) => ({ reason: nest(d) })),
  fc.constant({ reason: 'x'.repeat(20_000) }),
);
const query = fc
  .array(
    fc.tuple(
      fc.oneof(
        pick([
          'scope',
          'type',
          'priority',
          'overdue',
          'dueBefore',
          'limit',
          'offset',
          'status',
          'patientId',
          'refused',
          'patient',
          'owner',
          '_lastUpdated',
          '_count',
          '_offset',
          '_format',
        ]),
        nastyString,
      ),
      fc.oneof(
        text,
        fc.integer().map(String),
        pick([
          'true',
          'false',
          'mine',
          'team',
          'urgent',
          'ge2030-01-01',
          'xx2030',
          '2030-13-45T25:00Z',
          '-1',
          '501',
          '1e9',
        ]),
      ),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => {
    const search = new URLSearchParams();
    for (const [k, v] of pairs) search.append(k, v);
    return search.toString();
  });

interface Call {
  method: string;
  path: string;
  key: keyof typeof KEY;
  body?: unknown;
}

const calls: fc.Arbitrary<Call> = fc.oneof(
  fc
    .record({
      id: segment,
      action: fc.oneof(pick(['accept', 'start', 'complete', 'hold', 'resume', 'reject', 'cancel']), segment),
      body,
      key: pick(['navigator', 'lead'] as const),
    })
    .map(({ id, action, body, key }) => ({ method: 'POST', path: `/tasks/${id}/${action}`, key, body })),
  fc
    .record({ id: segment, body })
    .map(({ id, body }) => ({ method: 'POST', path: `/tasks/${id}/reassign`, key: 'lead' as const, body })),
  fc
    .record({
      id: fc.oneof(pick(['1', '2', '3', '4', '5']), segment),
      event: fc.oneof(
        malformedEvent.map((m) => ({ event: m.input })),
        body,
      ),
    })
    .map(({ id, event }) => ({
      method: 'POST',
      path: `/dead-letters/${id}/replay`,
      key: 'lead' as const,
      body: event,
    })),
  body.map((b) => ({ method: 'POST', path: '/teams', key: 'admin' as const, body: b })),
  fc
    .record({ code: segment, body })
    .map(({ code, body }) => ({ method: 'POST', path: `/teams/${code}/members`, key: 'admin' as const, body })),
  fc
    .record({ id: segment, body })
    .map(({ id, body }) => ({ method: 'PATCH', path: `/members/${id}`, key: 'admin' as const, body })),
  body.map((b) => ({ method: 'POST', path: '/api-keys', key: 'admin' as const, body: b })),
  query.map((q) => ({ method: 'GET', path: `/worklist?${q}`, key: 'navigator' as const })),
  query.map((q) => ({ method: 'GET', path: `/worklist/summary?${q}`, key: 'navigator' as const })),
  query.map((q) => ({ method: 'GET', path: `/tasks?${q}`, key: 'lead' as const })),
  query.map((q) => ({ method: 'GET', path: `/dead-letters?${q}`, key: 'lead' as const })),
  query.map((q) => ({ method: 'GET', path: `/hl7/v2/messages?${q}`, key: 'lead' as const })),
  query.map((q) => ({ method: 'GET', path: `/fhir/Task?${q}`, key: 'integration' as const })),
  query.map((q) => ({ method: 'GET', path: `/fhir/ServiceRequest?${q}`, key: 'navigator' as const })),
  segment.map((id) => ({ method: 'GET', path: `/patients/${id}`, key: 'navigator' as const })),
  segment.map((id) => ({ method: 'GET', path: `/patients/${id}/timeline`, key: 'lead' as const })),
  segment.map((id) => ({ method: 'GET', path: `/tasks/${id}`, key: 'navigator' as const })),
  segment.map((id) => ({ method: 'GET', path: `/fhir/Task/${id}`, key: 'integration' as const })),
  segment.map((id) => ({ method: 'GET', path: `/hl7/v2/messages/${id}`, key: 'lead' as const })),
  segment.map((id) => ({ method: 'GET', path: `/dead-letters/${id}`, key: 'lead' as const })),
  segment.map((id) => ({ method: 'DELETE', path: `/api-keys/${id}`, key: 'admin' as const })),
);

async function call(c: Call): Promise<number> {
  const res = await send(`${base}${c.path}`, {
    method: c.method,
    headers: { authorization: `Bearer ${KEY[c.key]}`, 'content-type': 'application/json' },
    body: c.body === undefined ? undefined : JSON.stringify(c.body),
  });
  const text = await res.text();
  const what = `${c.method} ${c.path.slice(0, 120)} ${JSON.stringify(c.body)?.slice(0, 120) ?? ''}`;
  assertNoLeak(res.status, text, what);
  // 431: Node's HTTP parser itself refuses a request line past 16 kB (a huge query string), before the app
  if (res.status >= 400 && res.status !== 431) {
    // a clear answer: JSON with a message, or an OperationOutcome with diagnostics
    let json: { message?: unknown; issue?: { diagnostics?: string }[] } = {};
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      throw new Error(
        `${res.status}, not JSON, for ${what} (FUZZ_SEED=${FUZZ_SEED}): ${JSON.stringify(text.slice(0, 200))}`,
      );
    }
    if (!(json.message || json.issue?.[0]?.diagnostics))
      throw new Error(`${res.status} without a message for ${what} (FUZZ_SEED=${FUZZ_SEED}): ${text.slice(0, 200)}`);
  }
  return res.status;
}

it(`answers ${REQUESTS} fuzzed requests to the other routes with 2xx or a 4xx that says why, never a 5xx`, async () => {
  await inParallel(generated(calls, 300, 100, 5), 8, async (c) => void (await call(c)));
  const heapBefore = await heapAfterGcMb();
  const started = Date.now();
  const byStatus = new Map<number, number>();
  await inParallel(generated(calls, REQUESTS), 8, async (c) => {
    const status = await call(c);
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  });
  const seconds = (Date.now() - started) / 1000;
  const heapAfter = await heapAfterGcMb();
  const refused = [...byStatus].filter(([s]) => s >= 400).reduce((n, [, c]) => n + c, 0);
  report(
    `other routes: ${REQUESTS} requests, ${refused} refused (4xx) ${JSON.stringify(Object.fromEntries([...byStatus].sort()))}, ` +
      `0 × 5xx in ${seconds.toFixed(1)} s; heap after GC ${heapBefore} → ${heapAfter} MB (seed ${FUZZ_SEED}; ${transport.retries} transport retries)`,
  );
  expect([...byStatus.keys()].every((s) => s < 500)).toBe(true);
  // almost everything generated is malformed: the 4xx are the count that matters (with events-http: over 10,000)
  expect(refused).toBeGreaterThan(REQUESTS * 0.85);
  expect(heapAfter - heapBefore).toBeLessThan(40);
}, 150_000);
