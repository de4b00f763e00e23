import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Pool } from 'pg';
import { MEMBER_ROLES, type ApiRole, type MemberRole } from '@app/navigation';
import { API_KEY_ROLES, apiKeyBindingProblem, ApiKeyStore } from './api-keys';
import { normaliseEmail, TEAM_CODE_PATTERN } from './care-teams';
import { inTransaction } from './database';

export interface CareTeamSeed {
  teams: { code: string; name: string; members: { name: string; email: string; role: MemberRole }[] }[];
  /** Keys with known secrets (demo and local use only: anyone who reads the file holds them). */
  apiKeys: { secret: string; role: ApiRole; label: string; member?: { team: string; email: string } }[];
}

export interface CareTeamSeedResult {
  teamsInserted: number;
  teamsUpdated: number;
  membersInserted: number;
  membersUpdated: number;
  apiKeys: number;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown, max: number): v is string =>
  typeof v === 'string' && v.trim().length > 0 && v.length <= max;

/**
 * Checks a seed's shape and its references (a key's member is in the seed, with a role the key may be bound to)
 * before anything is written, and lists every problem with its path.
 */
export function validateCareTeamSeed(raw: unknown, source = 'care team seed'): CareTeamSeed {
  const problems: string[] = [];
  const fail = (path: string, why: string) => problems.push(`${path}: ${why}`);
  const onlyKeys = (value: Json, path: string, allowed: string[]) => {
    for (const key of Object.keys(value)) if (!allowed.includes(key)) fail(`${path}.${key}`, 'unknown field');
  };

  if (!isObject(raw)) throw new Error(`${source}: must be a JSON object with "teams" and "apiKeys"`);
  onlyKeys(raw, '$', ['description', 'teams', 'apiKeys']);
  const members = new Map<string, MemberRole>(); // `${team}\n${email}` -> role
  if (!Array.isArray(raw.teams)) fail('$.teams', 'must be an array');
  const teams: unknown[] = Array.isArray(raw.teams) ? raw.teams : [];
  const codes = new Set<string>();
  teams.forEach((team, t) => {
    const path = `$.teams[${t}]`;
    if (!isObject(team)) return fail(path, 'must be an object');
    onlyKeys(team, path, ['code', 'name', 'members']);
    if (typeof team.code !== 'string' || !TEAM_CODE_PATTERN.test(team.code))
      fail(`${path}.code`, 'must be letters, digits, . _ - (up to 100)');
    else if (codes.has(team.code)) fail(`${path}.code`, `duplicate team '${team.code}'`);
    else codes.add(team.code);
    if (!isText(team.name, 200)) fail(`${path}.name`, 'must be a non-empty string (up to 200)');
    if (!Array.isArray(team.members)) return fail(`${path}.members`, 'must be an array');
    team.members.forEach((member: unknown, m) => {
      const mPath = `${path}.members[${m}]`;
      if (!isObject(member)) return fail(mPath, 'must be an object');
      onlyKeys(member, mPath, ['name', 'email', 'role']);
      if (!isText(member.name, 200)) fail(`${mPath}.name`, 'must be a non-empty string (up to 200)');
      if (!isText(member.email, 254) || !/^[^\s@]+@[^\s@]+$/.test(member.email))
        fail(`${mPath}.email`, 'must be an email address');
      if (!(MEMBER_ROLES as readonly unknown[]).includes(member.role))
        fail(`${mPath}.role`, `must be one of ${MEMBER_ROLES.join(', ')}`);
      if (typeof team.code === 'string' && typeof member.email === 'string') {
        const key = `${team.code}\n${normaliseEmail(member.email)}`;
        if (members.has(key)) fail(`${mPath}.email`, `duplicate member in team '${team.code}'`);
        members.set(key, member.role as MemberRole);
      }
    });
  });

  if (!Array.isArray(raw.apiKeys)) fail('$.apiKeys', 'must be an array');
  const apiKeys: unknown[] = Array.isArray(raw.apiKeys) ? raw.apiKeys : [];
  const secrets = new Set<string>();
  apiKeys.forEach((key, k) => {
    const path = `$.apiKeys[${k}]`;
    if (!isObject(key)) return fail(path, 'must be an object');
    onlyKeys(key, path, ['secret', 'role', 'label', 'member']);
    if (typeof key.secret !== 'string' || key.secret.length < 12 || key.secret.length > 256)
      fail(`${path}.secret`, 'must be a string of 12-256 characters');
    else if (secrets.has(key.secret)) fail(`${path}.secret`, 'duplicate secret');
    else secrets.add(key.secret);
    if (!isText(key.label, 200)) fail(`${path}.label`, 'must be a non-empty string (up to 200)');
    if (!(API_KEY_ROLES as readonly unknown[]).includes(key.role))
      return fail(`${path}.role`, `must be one of ${API_KEY_ROLES.join(', ')}`);
    let memberRole: MemberRole | null = null;
    if (key.member !== undefined) {
      if (!isObject(key.member) || typeof key.member.team !== 'string' || typeof key.member.email !== 'string')
        return fail(`${path}.member`, 'must be { "team": <code>, "email": <email> }');
      onlyKeys(key.member, `${path}.member`, ['team', 'email']);
      memberRole = members.get(`${key.member.team}\n${normaliseEmail(key.member.email)}`) ?? null;
      if (!memberRole) return fail(`${path}.member`, `no member ${key.member.email} in team '${key.member.team}'`);
    }
    const problem = apiKeyBindingProblem(
      key.role as ApiRole,
      key.member === undefined ? null : 'seed-member',
      memberRole && { role: memberRole, active: true },
    );
    if (problem) fail(path, problem.replace('(memberId)', '(member: { team, email })'));
  });

  if (problems.length) throw new Error(`${source} is invalid:\n  ${problems.join('\n  ')}`);
  return raw as unknown as CareTeamSeed;
}

/** Reads and validates a seed file (config/demo-teams.json). */
export function loadCareTeamSeed(path: string): CareTeamSeed {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read care team seed ${path}: ${(err as Error).message}`);
  }
  return validateCareTeamSeed(raw, path);
}

/**
 * Loads a seed idempotently: teams upserted by code, members by (team, email) — name and role follow the seed, but
 * `active` is left as an operator set it — and keys with ApiKeyStore.ensureKey (a revoked demo key stays revoked).
 * Teams and members are one transaction; keys follow, each idempotent on its own.
 */
export async function seedCareTeams(pool: Pool, input: unknown): Promise<CareTeamSeedResult> {
  const seed = validateCareTeamSeed(input);
  const result: CareTeamSeedResult = {
    teamsInserted: 0,
    teamsUpdated: 0,
    membersInserted: 0,
    membersUpdated: 0,
    apiKeys: 0,
  };
  const memberIds = await inTransaction(pool, async (client) => {
    const ids = new Map<string, string>();
    for (const team of seed.teams) {
      // (xmax = 0) is true for a row this statement inserted, false for one it updated; unchanged rows return nothing.
      const teamRow = await client.query<{ inserted: boolean }>(
        `INSERT INTO care_teams (code, name) VALUES ($1, $2)
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, updated_at = now() WHERE care_teams.name <> EXCLUDED.name
         RETURNING (xmax = 0) AS inserted`,
        [team.code, team.name],
      );
      for (const row of teamRow.rows) result[row.inserted ? 'teamsInserted' : 'teamsUpdated'] += 1;
      for (const member of team.members) {
        const email = normaliseEmail(member.email);
        const memberRow = await client.query<{ inserted: boolean }>(
          `INSERT INTO team_members (id, team_code, name, email, role) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (team_code, email) DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role, updated_at = now()
            WHERE (team_members.name, team_members.role) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.role)
           RETURNING (xmax = 0) AS inserted`,
          [randomUUID(), team.code, member.name, email, member.role],
        );
        for (const row of memberRow.rows) result[row.inserted ? 'membersInserted' : 'membersUpdated'] += 1;
        const { rows } = await client.query<{ id: string }>(
          `SELECT id FROM team_members WHERE team_code = $1 AND email = $2`,
          [team.code, email],
        );
        ids.set(`${team.code}\n${email}`, rows[0].id);
      }
    }
    return ids;
  });
  const keys = new ApiKeyStore(pool);
  for (const key of seed.apiKeys) {
    const memberId = key.member ? memberIds.get(`${key.member.team}\n${normaliseEmail(key.member.email)}`) : null;
    await keys.ensureKey({ secret: key.secret, role: key.role, label: key.label, memberId });
    result.apiKeys += 1;
  }
  return result;
}
