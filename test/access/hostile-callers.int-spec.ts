/**
 * Hostile callers (issue 6): against the real api, Redis and PostgreSQL. Guessing keys is throttled per client address
 * (429 with Retry-After, the queues board included), intake is throttled per key, signed intake refuses what is not
 * signed, stale or altered (INTAKE_HMAC_SECRET), CORS is closed unless an origin is listed, every answer carries
 * security headers (the worklist page keeps its own policy), and an unexpected error is a 500 with a correlation id:
 * no stack, no message, and a log line without the values involved. docs/security.md.
 */
import { Logger, type INestApplication } from '@nestjs/common';
import { WORKLIST_PAGE_CSP } from '../../apps/api/src/web/web.controller';
import { INTERNAL_ERROR_MESSAGE } from '../../apps/api/src/security/errors';
import { signIntake } from '../../apps/api/src/security/request-signature';
import { ApiKeyStore } from '@app/store';
import { sarcomaOru } from '../../libs/interop/src/hl7v2/testing';
import { pathologyBundle } from '../../libs/interop/src/fhir/testing';
import { startApi, seedDemoTeams } from '../support/api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { clinicalEvent } from '../support/events';
import { UpstreamPublisher, uniquePrefix } from '../support/queues';

const SECRET = 'hmac-secret-for-the-hostile-callers-test';
const ORIGIN = 'https://worklist.hospital.example';
const INTEGRATION = 'demo-integration-key';

let db: TestDatabase;
let hardened: { app: INestApplication; base: string };
let plain: { app: INestApplication; base: string };
let queue: UpstreamPublisher;
let secondIntegrationKey: string;
/** Each signed-intake test has keys of its own: the intake budget (10 per minute here) is per key. */
const signing = { events: '', interop: '', counted: '' };

beforeAll(async () => {
  db = await createTestDatabase('hostile');
  await seedDemoTeams(db.pool);
  const store = new ApiKeyStore(db.pool);
  secondIntegrationKey = (await store.createKey({ role: 'integration', label: 'second lab' })).secret;
  signing.events = (await store.createKey({ role: 'integration', label: 'signing lab (events)' })).secret;
  signing.interop = (await store.createKey({ role: 'integration', label: 'signing lab (HL7, FHIR)' })).secret;
  signing.counted = (await store.createKey({ role: 'integration', label: 'signing lab (failures)' })).secret;
  const prefix = uniquePrefix('hostile');
  queue = new UpstreamPublisher(prefix);
  [hardened, plain] = await Promise.all([
    startApi({
      databaseUrl: db.url,
      prefix,
      config: {
        // X-Forwarded-For from the loopback proxy (this test) names the client: several clients from one host
        TRUST_PROXY: 'loopback',
        AUTH_FAILURE_LIMIT: 5,
        INTAKE_RATE_LIMIT: 10,
        INTAKE_HMAC_SECRET: SECRET,
        CORS_ORIGINS: `${ORIGIN}, https://other.hospital.example`,
      },
    }),
    startApi({ databaseUrl: db.url, prefix }),
  ]);
});
afterAll(async () => {
  await hardened?.app.close();
  await plain?.app.close();
  await queue?.destroy();
  await db?.drop();
});

const visit = (id: string) =>
  JSON.stringify(
    clinicalEvent(id, 'P-HOSTILE-1', 'clinic.visited', '2025-08-01T10:30:00+01:00', {
      visitedAt: '2025-08-01T10:30:00+01:00',
    }),
  );

describe('guessing keys', () => {
  it('after 5 failed authentications an address gets 429 with Retry-After, whatever key it sends next; others do not', async () => {
    const from = (ip: string, key?: string) =>
      fetch(`${hardened.base}/worklist`, {
        headers: { 'x-forwarded-for': ip, ...(key ? { authorization: `Bearer ${key}` } : {}) },
      });
    const guesses = [];
    for (let i = 0; i < 5; i += 1) guesses.push((await from('203.0.113.7', `guess-${i}`)).status);
    expect(guesses).toEqual([401, 401, 401, 401, 401]);
    const blocked = await from('203.0.113.7', 'demo-navigator-key');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(blocked.headers.get('retry-after'))).toBeLessThanOrEqual(12); // one failure per 60 s / 5
    expect(await blocked.json()).toEqual({
      statusCode: 429,
      message: expect.stringMatching(/^too many failed authentications from this address: retry after \d+ s$/),
    });
    // the queues board's password is a key too: the same address is refused there
    const board = await fetch(`${hardened.base}/queues`, {
      headers: {
        'x-forwarded-for': '203.0.113.7',
        authorization: `Basic ${Buffer.from('ops:guess').toString('base64')}`,
      },
    });
    expect(board.status).toBe(429);
    // another address, and the same one without a key, are answered as usual
    expect((await from('203.0.113.8', 'demo-navigator-key')).status).toBe(200);
    expect((await from('203.0.113.7')).status).toBe(401);
  });

  it('counts wrong passwords on the queues board too', async () => {
    const statuses = [];
    for (let i = 0; i < 6; i += 1)
      statuses.push(
        (
          await fetch(`${hardened.base}/queues/api/queues`, {
            headers: {
              'x-forwarded-for': '198.51.100.20',
              authorization: `Basic ${Buffer.from(`ops:wrong-${i}`).toString('base64')}`,
            },
          })
        ).status,
      );
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });
});

describe('intake floods', () => {
  it('after 10 intake requests a key gets 429 with Retry-After; another key and other routes are not affected', async () => {
    const post = (key: string, body: string) =>
      fetch(`${hardened.base}/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...signIntake(SECRET, body) },
        body,
      });
    const statuses = [];
    for (let i = 0; i < 10; i += 1) statuses.push((await post(INTEGRATION, visit(`flood-${i}`))).status);
    expect(statuses).toEqual(Array(10).fill(202));
    const refused = await post(INTEGRATION, visit('flood-10'));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('6'); // one request per 60 s / 10
    expect(((await refused.json()) as any).message).toBe('intake rate limit reached for this key: retry after 6 s');
    // HL7 and FHIR intake share the key's budget (an OperationOutcome on /fhir)
    const fhir = await fetch(`${hardened.base}/fhir`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INTEGRATION}`, 'content-type': 'application/fhir+json' },
      body: '{}',
    });
    expect(fhir.status).toBe(429);
    expect(await fhir.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'throttled' }] });
    expect((await post(secondIntegrationKey, visit('other-lab-1'))).status).toBe(202);
    const read = await fetch(`${hardened.base}/fhir/Task`, { headers: { authorization: `Bearer ${INTEGRATION}` } });
    expect(read.status).toBe(200);
  });
});

describe('signed intake (INTAKE_HMAC_SECRET)', () => {
  // a client address per request: five bad signatures from one address would be five failed authentications
  let client = 50;
  const send = (path: string, body: string, type: string, headers: Record<string, string>, key?: string) =>
    fetch(`${hardened.base}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key ?? (path === '/events' ? signing.events : signing.interop)}`,
        'content-type': type,
        'x-forwarded-for': `192.0.2.${client++}`,
        ...headers,
      },
      body,
    });

  it('refuses unsigned, stale, future or altered requests with 401 saying why; takes signed ones on all three routes', async () => {
    const body = visit('signed-1');
    const cases: [string, Record<string, string>][] = [
      ['unsigned', {}],
      ['stale', signIntake(SECRET, body, Date.now() - 301_000)],
      ['future', signIntake(SECRET, body, Date.now() + 301_000)],
      ['other secret', signIntake(`${SECRET}!`, body)],
      ['altered', signIntake(SECRET, body.replace('signed-1', 'signed-2'))],
    ];
    const answers: string[] = [];
    for (const [label, headers] of cases) {
      const res = await send('/events', body, 'application/json', headers);
      answers.push(
        `${label}: ${res.status} ${res.headers.get('www-authenticate')} ${((await res.json()) as any).message}`,
      );
    }
    expect(answers).toEqual([
      'unsigned: 401 HMAC-SHA256 realm="intake" X-Signature-Timestamp required: the request\'s time in Unix seconds',
      'stale: 401 HMAC-SHA256 realm="intake" X-Signature-Timestamp is more than 300 s from the server\'s clock: sign each request when it is sent',
      'future: 401 HMAC-SHA256 realm="intake" X-Signature-Timestamp is more than 300 s from the server\'s clock: sign each request when it is sent',
      'other secret: 401 HMAC-SHA256 realm="intake" X-Signature does not match the body and timestamp',
      'altered: 401 HMAC-SHA256 realm="intake" X-Signature does not match the body and timestamp',
    ]);
    expect((await send('/events', body, 'application/json', signIntake(SECRET, body))).status).toBe(202);
    const hl7 = sarcomaOru({ controlId: 'SIGNED-1', mrn: 'MRN-S1', reportId: 'S-1' });
    expect((await send('/hl7/v2', hl7, 'x-application/hl7-v2+er7', {})).status).toBe(401);
    const ack = await send('/hl7/v2', hl7, 'x-application/hl7-v2+er7', signIntake(SECRET, hl7));
    expect([ack.status, (await ack.text()).split('\r')[1]]).toEqual([200, 'MSA|AA|SIGNED-1|']);
    const bundle = JSON.stringify(pathologyBundle({ mrn: 'MRN-S2', reportId: 'S-2' }));
    expect((await send('/fhir', bundle, 'application/fhir+json', {})).status).toBe(401);
    expect((await send('/fhir', bundle, 'application/fhir+json', signIntake(SECRET, bundle))).status).toBe(200);
  });

  it('counts a bad signature as a failed authentication: five from one address, and the sixth is 429', async () => {
    const body = visit('counted-1');
    const from = (headers: Record<string, string>) =>
      fetch(`${hardened.base}/events`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${signing.counted}`,
          'content-type': 'application/json',
          'x-forwarded-for': '192.0.2.200',
          ...headers,
        },
        body,
      });
    const statuses = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await from(signIntake(`${SECRET}?`, body))).status);
    statuses.push((await from(signIntake(SECRET, body))).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('needs the key first: a signed request without a key is a plain 401 for the key', async () => {
    const body = visit('signed-nokey');
    const res = await fetch(`${hardened.base}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.51', ...signIntake(SECRET, body) },
      body,
    });
    expect([res.status, ((await res.json()) as any).message]).toEqual([
      401,
      'API key required: send Authorization: Bearer <key>',
    ]);
  });
});

describe('headers and CORS', () => {
  it('puts helmet headers on API answers and keeps the worklist page on its own stricter policy', async () => {
    const res = await fetch(`${plain.base}/health`);
    const h = (name: string) => res.headers.get(name);
    expect(h('content-security-policy')).toMatch(/^default-src 'self';/);
    expect(h('content-security-policy')).toContain("frame-ancestors 'self'");
    expect(h('content-security-policy')).not.toContain('upgrade-insecure-requests');
    expect(h('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect([h('x-content-type-options'), h('x-frame-options'), h('referrer-policy')]).toEqual([
      'nosniff',
      'SAMEORIGIN',
      'no-referrer',
    ]);
    expect(h('cross-origin-resource-policy')).toBe('same-origin');
    expect(h('x-powered-by')).toBeNull();
    expect(h('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    const page = await fetch(`${plain.base}/app/`);
    expect(page.headers.get('content-security-policy')).toBe(WORKLIST_PAGE_CSP);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  });

  it('answers no cross-origin request by default; with CORS_ORIGINS only the origins listed', async () => {
    const preflight = (base: string, origin: string) =>
      fetch(`${base}/worklist`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
    const closed = await preflight(plain.base, ORIGIN);
    expect(closed.headers.get('access-control-allow-origin')).toBeNull();
    const get = await fetch(`${plain.base}/health`, { headers: { origin: ORIGIN } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();

    const listed = await preflight(hardened.base, ORIGIN);
    expect(listed.status).toBe(204);
    expect(listed.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(listed.headers.get('access-control-allow-headers')).toContain('Authorization');
    expect(listed.headers.get('access-control-allow-credentials')).toBeNull();
    const stranger = await preflight(hardened.base, 'https://evil.example');
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('errors', () => {
  it('answers an unexpected error 500 with a correlation id only, and logs it without the values involved', async () => {
    // a constraint the code does not expect: PostgreSQL refuses the row and quotes it in its error's detail
    await db.pool.query(`ALTER TABLE care_teams ADD CONSTRAINT no_patient_names CHECK (name NOT LIKE '%Zed Quill%')`);
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const res = await fetch(`${plain.base}/teams`, {
        method: 'POST',
        headers: { authorization: 'Bearer demo-admin-key', 'content-type': 'application/json' },
        body: JSON.stringify({ code: 'zq', name: 'Team of Zed Quill, DOB 1951-04-09' }),
      });
      const text = await res.text();
      const correlationId = res.headers.get('x-correlation-id');
      expect(res.status).toBe(500);
      expect(JSON.parse(text)).toEqual({ statusCode: 500, message: INTERNAL_ERROR_MESSAGE, correlationId });
      expect(text).not.toMatch(/at |node_modules|no_patient_names|Zed Quill/);
      const calls = logged.mock.calls.filter((c) => String(c[0]).includes(correlationId!));
      expect(calls).toHaveLength(1);
      const [message, stack] = calls[0] as [string, string];
      expect(message).toBe(
        `unhandled DatabaseError (code 23514, constraint no_patient_names, routine ExecConstraints) on POST /teams; correlation id ${correlationId}`,
      );
      expect(stack).toMatch(/^\s+at /);
      expect(`${message}\n${stack}`).not.toMatch(/Zed Quill|1951-04-09|violates/);
    } finally {
      logged.mockRestore();
      await db.pool.query(`ALTER TABLE care_teams DROP CONSTRAINT no_patient_names`);
    }
  });

  it('answers a body parser failure, an unknown route and a NUL in the URL as 4xx in its own words', async () => {
    const nav = { authorization: 'Bearer demo-navigator-key' };
    const cases = [
      await fetch(`${plain.base}/tasks/00000000-0000-4000-8000-00000000ffff/hold`, {
        method: 'POST',
        headers: { ...nav, 'content-type': 'application/json' },
        body: '{"reason": "MRN-0012345 ',
      }),
      await fetch(`${plain.base}/patients/MRN%00`, { headers: nav }),
      await fetch(`${plain.base}/tasks/00000000-0000-4000-8000-00000000ffff/hold`, {
        method: 'POST',
        headers: { ...nav, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: { constructor: { prototype: 1 } } }),
      }),
    ];
    const answers = await Promise.all(cases.map(async (r) => [r.status, ((await r.json()) as any).message]));
    expect(answers).toEqual([
      [400, 'the body is not valid JSON'],
      [400, 'the URL holds a NUL character (%00)'],
      [400, ['property reason.constructor should not exist']],
    ]);
  });
});
