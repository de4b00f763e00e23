/**
 * Care teams, members and API keys against a real PostgreSQL: conflicts, key hashing and binding rules, what makes a
 * key stop working, and the demo seed loaded twice.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiKeyError,
  ApiKeyStore,
  CareTeamError,
  CareTeamStore,
  hashApiKeySecret,
  loadCareTeamSeed,
  seedCareTeams,
  validateCareTeamSeed,
} from '@app/store';
import { createTestDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;
let teams: CareTeamStore;
let keys: ApiKeyStore;

beforeAll(async () => {
  db = await createTestDatabase('care_teams');
  teams = new CareTeamStore(db.pool);
  keys = new ApiKeyStore(db.pool);
});
afterAll(async () => {
  await db.drop();
});

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (err: unknown) => err,
  );
}

const SEED_PATH = join(__dirname, '..', '..', 'config', 'demo-teams.json');

describe('CareTeamStore', () => {
  it('creates a team once; a second create with the code is a 409 conflict', async () => {
    const team = await teams.createTeam({ code: 'T-ONE', name: 'Team one' });
    expect(team).toMatchObject({ code: 'T-ONE', name: 'Team one', members: [] });
    const err = await rejection(teams.createTeam({ code: 'T-ONE', name: 'Another' }));
    expect(err).toBeInstanceOf(CareTeamError);
    expect(err).toMatchObject({ status: 409, message: "team 'T-ONE' already exists" });
    expect((await teams.getTeam('T-ONE'))?.name).toBe('Team one');
    expect(await teams.getTeam('T-NONE')).toBeNull();
  });

  it('adds members (404 for an unknown team, 409 for an email the team has, whatever its case)', async () => {
    await teams.createTeam({ code: 'T-TWO', name: 'Team two' });
    const ann = await teams.addMember('T-TWO', {
      name: 'Ann Navigator',
      email: 'Ann@Hospital.Example',
      role: 'navigator',
    });
    expect(ann).toMatchObject({ teamCode: 'T-TWO', email: 'ann@hospital.example', role: 'navigator', active: true });
    expect(ann.id).toMatch(/^[0-9a-f-]{36}$/);
    const lee = await teams.addMember('T-TWO', {
      name: 'Lee Lead',
      email: 'lee@hospital.example',
      role: 'navigator-lead',
    });

    expect(
      await rejection(teams.addMember('T-NOPE', { name: 'X', email: 'x@h.example', role: 'navigator' })),
    ).toMatchObject({
      status: 404,
    });
    expect(
      await rejection(
        teams.addMember('T-TWO', { name: 'Ann Again', email: 'ANN@hospital.example', role: 'navigator' }),
      ),
    ).toMatchObject({ status: 409 });
    // The same person may sit in another team.
    await teams.createTeam({ code: 'T-THREE', name: 'Team three' });
    await teams.addMember('T-THREE', { name: 'Ann Navigator', email: 'ann@hospital.example', role: 'navigator' });

    const team = await teams.getTeam('T-TWO');
    expect(team?.members.map((m) => m.id)).toEqual([lee.id, ann.id]); // leads first
    expect((await teams.listMembers('T-TWO')).map((m) => m.email)).toEqual([
      'lee@hospital.example',
      'ann@hospital.example',
    ]);
    const listed = await teams.listTeams();
    expect(listed.find((t) => t.code === 'T-TWO')).toMatchObject({ name: 'Team two', activeMembers: 2 });
  });

  it('updates only the fields given; 404 for an unknown member, 409 for a taken email', async () => {
    const bo = await teams.addMember('T-TWO', { name: 'Bo', email: 'bo@hospital.example', role: 'navigator' });
    const updated = await teams.updateMember(bo.id, { active: false, name: 'Bo Berg' });
    expect(updated).toMatchObject({ id: bo.id, name: 'Bo Berg', email: 'bo@hospital.example', role: 'navigator' });
    expect(updated.active).toBe(false);
    expect(await teams.updateMember(bo.id, {})).toEqual(updated);
    expect(await rejection(teams.updateMember('00000000-0000-4000-8000-000000000000', { active: true }))).toMatchObject(
      {
        status: 404,
      },
    );
    expect(await rejection(teams.updateMember(bo.id, { email: 'ANN@hospital.example' }))).toMatchObject({
      status: 409,
    });
    expect((await teams.listTeams()).find((t) => t.code === 'T-TWO')?.activeMembers).toBe(2);
  });
});

describe('ApiKeyStore', () => {
  it('creates a key whose secret is returned once and stored only as its SHA-256', async () => {
    const key = await keys.createKey({ role: 'admin', label: 'ops' });
    expect(key.secret).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    expect(key).toMatchObject({ role: 'admin', prefix: key.secret.slice(0, 10), memberId: null, revokedAt: null });
    const { rows } = await db.pool.query('SELECT * FROM api_keys WHERE id = $1', [key.id]);
    expect(rows[0].key_hash).toBe(hashApiKeySecret(key.secret));
    expect(JSON.stringify(rows[0])).not.toContain(key.secret);
    expect(await keys.resolve(key.secret)).toEqual({
      keyId: key.id,
      role: 'admin',
      memberId: null,
      teamCode: null,
      memberRole: null,
    });
    expect(await keys.resolve(`${key.secret}x`)).toBeNull();
    expect(await keys.resolve('')).toBeNull();
  });

  it('binds navigator and lead keys to a fitting member, and integration and admin keys to nobody (422)', async () => {
    await teams.createTeam({ code: 'K-TEAM', name: 'Key team' });
    const nav = await teams.addMember('K-TEAM', { name: 'Nav', email: 'nav@hospital.example', role: 'navigator' });
    const lead = await teams.addMember('K-TEAM', {
      name: 'Lead',
      email: 'lead@hospital.example',
      role: 'clinical-lead',
    });
    const refused = async (p: Promise<unknown>) => {
      const err = await rejection(p);
      expect(err).toBeInstanceOf(ApiKeyError);
      return err as ApiKeyError;
    };
    expect((await refused(keys.createKey({ role: 'navigator', label: 'x' }))).status).toBe(422);
    expect((await refused(keys.createKey({ role: 'admin', label: 'x', memberId: nav.id }))).message).toBe(
      'admin keys are not bound to a team member',
    );
    expect((await refused(keys.createKey({ role: 'lead', label: 'x', memberId: nav.id }))).message).toMatch(
      /navigator-lead or clinical-lead/,
    );
    expect(
      (
        await refused(
          keys.createKey({ role: 'navigator', label: 'x', memberId: '00000000-0000-4000-8000-000000000000' }),
        )
      ).message,
    ).toMatch(/no team member/);
    expect((await refused(keys.createKey({ role: 'navigator', label: 'x', memberId: 'not-a-uuid' }))).status).toBe(422);
    expect(await db.pool.query(`SELECT 1 FROM api_keys WHERE label = 'x'`)).toMatchObject({ rowCount: 0 });

    const navKey = await keys.createKey({ role: 'navigator', label: 'nav', memberId: nav.id });
    const leadKey = await keys.createKey({ role: 'lead', label: 'lead', memberId: lead.id });
    expect(navKey).toMatchObject({ memberId: nav.id, teamCode: 'K-TEAM' });
    expect(await keys.resolve(navKey.secret)).toEqual({
      keyId: navKey.id,
      role: 'navigator',
      memberId: nav.id,
      teamCode: 'K-TEAM',
      memberRole: 'navigator',
    });
    expect(await keys.resolve(leadKey.secret)).toMatchObject({ role: 'lead', memberRole: 'clinical-lead' });

    // A member made inactive takes the key's access with them; made active again, it is back.
    await teams.updateMember(nav.id, { active: false });
    expect(await keys.resolve(navKey.secret)).toBeNull();
    expect((await refused(keys.createKey({ role: 'navigator', label: 'y', memberId: nav.id }))).message).toMatch(
      /inactive/,
    );
    await teams.updateMember(nav.id, { active: true });
    expect(await keys.resolve(navKey.secret)).toMatchObject({ memberId: nav.id });
    // A lead moved to a non-lead role no longer holds a lead key.
    await teams.updateMember(lead.id, { role: 'navigator' });
    expect(await keys.resolve(leadKey.secret)).toBeNull();
  });

  it('revokes a key (idempotently); a revoked key resolves to nothing; unknown ids are null', async () => {
    const key = await keys.createKey({ role: 'integration', label: 'lis' });
    const revoked = await keys.revoke(key.id);
    expect(revoked).toMatchObject({ id: key.id, role: 'integration' });
    expect(revoked?.revokedAt).toEqual(expect.any(String));
    expect(await keys.resolve(key.secret)).toBeNull();
    expect((await keys.revoke(key.id))?.revokedAt).toBe(revoked?.revokedAt);
    expect(await keys.revoke('00000000-0000-4000-8000-000000000000')).toBeNull();
    expect(await keys.revoke('nope')).toBeNull();
  });

  it('lists keys without secrets or hashes', async () => {
    const key = await keys.createKey({ role: 'admin', label: 'listed' });
    const listed = await keys.list();
    const entry = listed.find((k) => k.id === key.id);
    expect(Object.keys(entry ?? {}).sort()).toEqual(
      ['createdAt', 'id', 'label', 'memberId', 'prefix', 'revokedAt', 'role', 'teamCode'].sort(),
    );
    const text = JSON.stringify(listed);
    expect(text).not.toContain(key.secret);
    expect(text).not.toContain(hashApiKeySecret(key.secret));
  });

  it('ensureKey stores a known secret once; the same secret with another role is refused', async () => {
    const first = await keys.ensureKey({ secret: 'known-secret-1234', role: 'admin', label: 'known' });
    const again = await keys.ensureKey({ secret: 'known-secret-1234', role: 'admin', label: 'known' });
    expect(again).toEqual(first);
    expect(first.prefix).toBe('known-secr');
    expect(await keys.resolve('known-secret-1234')).toMatchObject({ keyId: first.id, role: 'admin' });
    expect(
      await rejection(keys.ensureKey({ secret: 'known-secret-1234', role: 'integration', label: 'k' })),
    ).toMatchObject({ status: 409 });
    expect(await rejection(keys.ensureKey({ secret: 'short', role: 'admin', label: 'k' }))).toMatchObject({
      status: 422,
    });
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM api_keys WHERE key_hash = $1`, [
      hashApiKeySecret('known-secret-1234'),
    ]);
    expect(rows[0].n).toBe(1);
  });
});

describe('the demo seed', () => {
  it('has the agreed teams, one navigator-lead and one clinical-lead each, and fictional staff', () => {
    const seed = loadCareTeamSeed(SEED_PATH);
    expect(seed.teams.map((t) => t.code)).toEqual([
      'sarcoma-north',
      'sarcoma-south',
      'surgical-oncology',
      'radiotherapy',
      'navigators',
      'tumour-board',
      'medical-oncology',
    ]);
    expect(seed.teams.find((t) => t.code === 'navigators')?.name).toBe('Navigator pool');
    expect(seed.teams.find((t) => t.code === 'tumour-board')?.name).toBe('Tumour board coordination');
    for (const team of seed.teams) {
      expect(team.members.length).toBeGreaterThanOrEqual(1);
      expect(team.members.length).toBeLessThanOrEqual(3);
      expect(team.members.filter((m) => m.role === 'navigator-lead')).toHaveLength(1);
      expect(team.members.filter((m) => m.role === 'clinical-lead')).toHaveLength(1);
      for (const m of team.members) expect(m.email).toMatch(/^[a-z.]+@hospital\.example$/);
    }
    expect(seed.teams.find((t) => t.code === 'tumour-board')?.members.map((m) => m.role)).toContain('coordinator');
    expect(seed.apiKeys.map((k) => `${k.secret}:${k.role}:${k.member?.team ?? '-'}`)).toEqual([
      'demo-admin-key:admin:-',
      'demo-integration-key:integration:-',
      'demo-navigator-key:navigator:sarcoma-north',
      'demo-lead-key:lead:sarcoma-north',
    ]);
  });

  it('loads idempotently: a second run inserts nothing and keeps every id', async () => {
    const seed = loadCareTeamSeed(SEED_PATH);
    const first = await seedCareTeams(db.pool, seed);
    expect(first).toEqual({ teamsInserted: 7, teamsUpdated: 0, membersInserted: 21, membersUpdated: 0, apiKeys: 4 });
    const snapshot = async () =>
      (
        await db.pool.query(
          `SELECT (SELECT json_agg(t ORDER BY code) FROM care_teams t WHERE code = ANY($1)) AS teams,
                  (SELECT json_agg(m ORDER BY id) FROM team_members m WHERE team_code = ANY($1)) AS members,
                  (SELECT json_agg(k ORDER BY id) FROM api_keys k WHERE prefix LIKE 'demo-%') AS keys`,
          [seed.teams.map((t) => t.code)],
        )
      ).rows[0];
    const before = await snapshot();
    const second = await seedCareTeams(db.pool, seed);
    expect(second).toEqual({ teamsInserted: 0, teamsUpdated: 0, membersInserted: 0, membersUpdated: 0, apiKeys: 4 });
    expect(await snapshot()).toEqual(before);
    expect(before.keys).toHaveLength(4);

    const navigator = await keys.resolve('demo-navigator-key');
    const member = await teams.getMember(navigator!.memberId!);
    expect(member).toMatchObject({ teamCode: 'sarcoma-north', role: 'navigator' });
    expect(await keys.resolve('demo-lead-key')).toMatchObject({
      role: 'lead',
      teamCode: 'sarcoma-north',
      memberRole: 'navigator-lead',
    });
    expect(await keys.resolve('demo-integration-key')).toMatchObject({ role: 'integration', memberId: null });

    // An edited seed updates names and roles in place (same member ids); an operator's deactivation stands.
    await teams.updateMember(navigator!.memberId!, { active: false });
    const edited = structuredClone(seed);
    edited.teams[0].name = 'North sarcoma care team (renamed)';
    edited.teams[0].members[0].name = 'Maren Holt-Berg';
    const third = await seedCareTeams(db.pool, edited);
    expect(third).toMatchObject({ teamsUpdated: 1, membersUpdated: 1, membersInserted: 0 });
    expect(await teams.getMember(navigator!.memberId!)).toMatchObject({ name: 'Maren Holt-Berg', active: false });
  });

  it('refuses a malformed seed, naming each problem, before writing anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seed-'));
    const path = join(dir, 'bad.json');
    writeFileSync(
      path,
      JSON.stringify({
        teams: [
          { code: 'BAD TEAM', name: 'x', members: [{ name: 'A', email: 'not-an-email', role: 'surgeon' }] },
          { code: 'OK-TEAM', name: 'ok', members: [{ name: 'N', email: 'n@hospital.example', role: 'navigator' }] },
        ],
        apiKeys: [
          {
            secret: 'lead-key-secret',
            role: 'lead',
            label: 'l',
            member: { team: 'OK-TEAM', email: 'n@hospital.example' },
          },
          { secret: 'admin-key-secret', role: 'admin', label: 'a', extra: true },
        ],
      }),
    );
    const err = (await rejection(Promise.resolve().then(() => loadCareTeamSeed(path)))) as Error;
    for (const problem of [
      '$.teams[0].code',
      '$.teams[0].members[0].email',
      '$.teams[0].members[0].role',
      '$.apiKeys[0]: a lead key needs a navigator-lead or clinical-lead member, not a navigator',
      '$.apiKeys[1].extra: unknown field',
    ])
      expect(err.message).toContain(problem);
    expect(() => validateCareTeamSeed([])).toThrow(/must be a JSON object/);
    expect(() => loadCareTeamSeed(join(dir, 'missing.json'))).toThrow(/cannot read care team seed/);
    const { rows } = await db.pool.query(`SELECT 1 FROM care_teams WHERE code = 'OK-TEAM'`);
    expect(rows).toHaveLength(0);
    await expect(seedCareTeams(db.pool, { teams: [], apiKeys: [{ secret: 'x' }] })).rejects.toThrow(/apiKeys\[0\]/);
  });
});
