/**
 * The api behind its API-key guard, against real PostgreSQL and Redis: who may call what, the 401 and 403 answers,
 * revocation, and the admin routes for teams, members and keys.
 */
import type { INestApplication } from '@nestjs/common';
import { ApiKeyStore, FakeClock, hashApiKeySecret } from '@app/store';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { marginPositiveJourney } from '../support/events';
import { UpstreamPublisher, uniquePrefix } from '../support/queues';
import { startApi, seedDemoTeams } from '../support/api';

const ADMIN = 'demo-admin-key';
const INTEGRATION = 'demo-integration-key';
const NAVIGATOR = 'demo-navigator-key';
const LEAD = 'demo-lead-key';

// The guard's key cache runs on the injected clock, so the test can step past its 5 s.
const clock = new FakeClock(new Date('2030-06-01T08:00:00.000Z'));
let db: TestDatabase;
let api: INestApplication;
let queue: UpstreamPublisher;
let base: string;

beforeAll(async () => {
  db = await createTestDatabase('auth');
  await seedDemoTeams(db.pool);
  const prefix = uniquePrefix('auth');
  queue = new UpstreamPublisher(prefix); // only to remove the accepted test events from Redis afterwards
  ({ app: api, base } = await startApi({ databaseUrl: db.url, prefix, clock }));
});
afterAll(async () => {
  await api.close();
  await queue.destroy();
  await db.drop();
});

async function request(method: string, path: string, key?: string, body?: unknown, header = 'authorization') {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== undefined) headers[header] = header === 'authorization' ? `Bearer ${key}` : key;
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
}

describe('authentication', () => {
  it('answers 401 with a clear message and a Bearer challenge when no key is sent', async () => {
    const res = await request('GET', '/teams');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ statusCode: 401, message: 'API key required: send Authorization: Bearer <key>' });
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect((await request('POST', '/events', undefined, {})).status).toBe(401);
    expect((await request('GET', '/patients/P-1')).status).toBe(401);
  });

  it('answers 401 for a key it does not know', async () => {
    const res = await request('GET', '/teams', 'sk_not-a-key');
    expect(res).toMatchObject({ status: 401, body: { statusCode: 401, message: 'API key not recognised or revoked' } });
  });

  it('accepts the key as X-Api-Key too', async () => {
    expect((await request('GET', '/teams', ADMIN, undefined, 'x-api-key')).status).toBe(200);
  });

  it('leaves /health, /health/ready and the OpenAPI document open, and documents bearer auth', async () => {
    expect(await request('GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect((await request('GET', '/health/ready')).status).toBe(200);
    const doc = await request('GET', '/docs/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.body.paths['/teams'].post.security).toEqual([{ bearer: [] }]);
    expect(doc.body.paths['/health'].get.security).toBeUndefined();
  });
});

describe('roles', () => {
  it('integration publishes events; navigators and leads may not', async () => {
    const event = marginPositiveJourney('auth', 'P-AUTH-1')[0];
    expect(await request('POST', '/events', INTEGRATION, event)).toEqual(
      expect.objectContaining({ status: 202, body: { eventId: event.eventId, status: 'accepted' } }),
    );
    const refused = await request('POST', '/events', NAVIGATOR, event);
    expect(refused).toMatchObject({
      status: 403,
      body: { statusCode: 403, message: "role 'navigator' may not POST /events; allowed: integration" },
    });
    expect((await request('POST', '/events', LEAD, event)).status).toBe(403);
  });

  it('leads see dead letters; navigators do not', async () => {
    expect(await request('GET', '/dead-letters', LEAD)).toMatchObject({ status: 200, body: { items: [], total: 0 } });
    expect(await request('GET', '/dead-letters', NAVIGATOR)).toMatchObject({
      status: 403,
      body: { message: "role 'navigator' may not GET /dead-letters; allowed: lead" },
    });
    // The refusal names the route pattern, never the ids in the URL.
    const replay = await request('POST', '/dead-letters/42/replay', NAVIGATOR);
    expect(replay.body.message).toBe("role 'navigator' may not POST /dead-letters/:id/replay; allowed: lead");
  });

  it('navigators and leads read patients; integration and admin keys may not (no patient id in the message)', async () => {
    expect((await request('GET', '/patients/P-NOBODY', NAVIGATOR)).status).toBe(404);
    expect((await request('GET', '/patients/P-NOBODY', LEAD)).status).toBe(404);
    const refused = await request('GET', '/patients/P-NOBODY/timeline', INTEGRATION);
    expect(refused.status).toBe(403);
    expect(refused.body.message).toBe(
      "role 'integration' may not GET /patients/:patientId/timeline; allowed: navigator, lead",
    );
    expect(refused.text).not.toContain('P-NOBODY');
    expect((await request('GET', '/patients/P-NOBODY', ADMIN)).status).toBe(403);
  });

  it('only admins manage teams and keys', async () => {
    const refused = await request('POST', '/teams', NAVIGATOR, { code: 'T-NAV', name: 'No' });
    expect(refused).toMatchObject({
      status: 403,
      body: { statusCode: 403, message: "role 'navigator' may not POST /teams; allowed: admin" },
    });
    for (const key of [INTEGRATION, LEAD]) {
      expect((await request('GET', '/teams', key)).status).toBe(403);
      expect((await request('GET', '/api-keys', key)).status).toBe(403);
    }
    expect((await request('GET', '/teams/T-NAV', ADMIN)).status).toBe(404); // nothing was created
  });
});

describe('admin: teams and members', () => {
  it('creates a team (201; 409 the second time), adds and changes members', async () => {
    const created = await request('POST', '/teams', ADMIN, { code: 'SARC-WEST', name: '  West sarcoma care team ' });
    expect(created).toMatchObject({
      status: 201,
      body: { code: 'SARC-WEST', name: 'West sarcoma care team', members: [] },
    });
    expect(await request('POST', '/teams', ADMIN, { code: 'SARC-WEST', name: 'Again' })).toMatchObject({
      status: 409,
      body: { message: "team 'SARC-WEST' already exists" },
    });
    expect((await request('POST', '/teams', ADMIN, { code: 'has space', name: 'x' })).status).toBe(400);
    expect((await request('POST', '/teams', ADMIN, { code: 'OK', name: 'x', extra: 1 })).status).toBe(400);

    const member = await request('POST', '/teams/SARC-WEST/members', ADMIN, {
      name: 'Wen Navigator',
      email: 'Wen.Navigator@hospital.example',
      role: 'navigator',
    });
    expect(member).toMatchObject({
      status: 201,
      body: { teamCode: 'SARC-WEST', email: 'wen.navigator@hospital.example', role: 'navigator', active: true },
    });
    expect(
      (
        await request('POST', '/teams/SARC-NOWHERE/members', ADMIN, {
          name: 'X',
          email: 'x@h.example',
          role: 'navigator',
        })
      ).status,
    ).toBe(404);
    expect(
      (await request('POST', '/teams/SARC-WEST/members', ADMIN, { name: 'X', email: 'x@h.example', role: 'surgeon' }))
        .status,
    ).toBe(400);

    const patched = await request('PATCH', `/members/${member.body.id}`, ADMIN, { role: 'navigator-lead' });
    expect(patched).toMatchObject({ status: 200, body: { id: member.body.id, role: 'navigator-lead' } });
    expect((await request('PATCH', `/members/${member.body.id}`, ADMIN, {})).status).toBe(400);
    expect((await request('PATCH', `/members/${member.body.id}`, ADMIN, { name: null })).status).toBe(400);
    expect((await request('PATCH', '/members/not-a-uuid', ADMIN, { active: false })).status).toBe(400);
    expect(
      (await request('PATCH', '/members/00000000-0000-4000-8000-000000000000', ADMIN, { active: false })).status,
    ).toBe(404);

    const team = await request('GET', '/teams/SARC-WEST', ADMIN);
    expect(team.body.members.map((m: { id: string }) => m.id)).toEqual([member.body.id]);
    const teams = await request('GET', '/teams', ADMIN);
    expect(teams.body.items.map((t: { code: string }) => t.code)).toEqual(
      expect.arrayContaining(['sarcoma-north', 'SARC-WEST', 'tumour-board']),
    );
  });
});

describe('admin: API keys', () => {
  it('creates a key and shows its secret once; the list never holds a secret or a hash', async () => {
    const north = await request('GET', '/teams/sarcoma-north', ADMIN);
    const navigator = north.body.members.find((m: { role: string }) => m.role === 'navigator');
    const created = await request('POST', '/api-keys', ADMIN, {
      role: 'navigator',
      memberId: navigator.id,
      label: 'tablet',
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    expect(created.body).toMatchObject({ role: 'navigator', memberId: navigator.id, teamCode: 'sarcoma-north' });
    expect(created.body.secret).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    expect(created.body.prefix).toBe(created.body.secret.slice(0, 10));
    expect((await request('GET', '/patients/P-NOBODY', created.body.secret)).status).toBe(404); // it works

    const listed = await request('GET', '/api-keys', ADMIN);
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((k: { id: string }) => k.id)).toContain(created.body.id);
    for (const secret of [created.body.secret, ADMIN, INTEGRATION, NAVIGATOR, LEAD]) {
      expect(listed.text).not.toContain(secret);
      expect(listed.text).not.toContain(hashApiKeySecret(secret));
    }
    for (const item of listed.body.items) {
      expect(item).not.toHaveProperty('secret');
      expect(item).not.toHaveProperty('keyHash');
      expect(item).not.toHaveProperty('key_hash');
    }
  });

  it('refuses keys whose role and member do not go together (422) and malformed requests (400)', async () => {
    const north = await request('GET', '/teams/sarcoma-north', ADMIN);
    const navigator = north.body.members.find((m: { role: string }) => m.role === 'navigator');
    expect(
      await request('POST', '/api-keys', ADMIN, { role: 'lead', memberId: navigator.id, label: 'x' }),
    ).toMatchObject({
      status: 422,
      body: { message: 'a lead key needs a navigator-lead or clinical-lead member, not a navigator' },
    });
    expect((await request('POST', '/api-keys', ADMIN, { role: 'navigator', label: 'x' })).status).toBe(422);
    expect(
      (await request('POST', '/api-keys', ADMIN, { role: 'admin', memberId: navigator.id, label: 'x' })).status,
    ).toBe(422);
    expect((await request('POST', '/api-keys', ADMIN, { role: 'root', label: 'x' })).status).toBe(400);
    expect((await request('POST', '/api-keys', ADMIN, { role: 'admin', label: 'x', secret: 'mine' })).status).toBe(400);
  });

  it('a key revoked through the api is refused at once (401)', async () => {
    const created = await request('POST', '/api-keys', ADMIN, { role: 'integration', label: 'to revoke' });
    const secret = created.body.secret as string;
    expect((await request('POST', '/events', secret, {})).status).toBe(400); // authorised; the event is invalid
    const revoked = await request('DELETE', `/api-keys/${created.body.id}`, ADMIN);
    expect(revoked).toMatchObject({ status: 200, body: { id: created.body.id, revokedAt: expect.any(String) } });
    expect(await request('POST', '/events', secret, {})).toMatchObject({
      status: 401,
      body: { message: 'API key not recognised or revoked' },
    });
    expect((await request('DELETE', '/api-keys/00000000-0000-4000-8000-000000000000', ADMIN)).status).toBe(404);
  });

  it('a key revoked elsewhere (another process, the database) is refused once the 5 s cache has passed', async () => {
    const store = new ApiKeyStore(db.pool);
    const key = await store.createKey({ role: 'admin', label: 'revoked elsewhere' });
    expect((await request('GET', '/teams', key.secret)).status).toBe(200);
    await store.revoke(key.id);
    expect((await request('GET', '/teams', key.secret)).status).toBe(200); // still cached: the documented window
    clock.advance(5_001);
    expect((await request('GET', '/teams', key.secret)).status).toBe(401);
  });

  it("deactivating a navigator through the api stops the navigator's keys at once", async () => {
    const north = await request('GET', '/teams/sarcoma-north', ADMIN);
    const navigator = north.body.members.find((m: { role: string }) => m.role === 'navigator');
    expect((await request('GET', '/patients/P-NOBODY', NAVIGATOR)).status).toBe(404);
    await request('PATCH', `/members/${navigator.id}`, ADMIN, { active: false });
    expect((await request('GET', '/patients/P-NOBODY', NAVIGATOR)).status).toBe(401);
    await request('PATCH', `/members/${navigator.id}`, ADMIN, { active: true });
    expect((await request('GET', '/patients/P-NOBODY', NAVIGATOR)).status).toBe(404);
  });
});
