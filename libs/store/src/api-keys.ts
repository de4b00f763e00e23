import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { ApiRole, MemberRole } from '@app/navigation';

export const API_KEY_ROLES = ['integration', 'navigator', 'lead', 'admin'] as const satisfies readonly ApiRole[];

/** Roles whose keys act as a team member; the others (integration, admin) are systems or operators. */
const MEMBER_BOUND: ReadonlySet<ApiRole> = new Set(['navigator', 'lead']);
const LEAD_MEMBER_ROLES: ReadonlySet<MemberRole> = new Set(['navigator-lead', 'clinical-lead']);

/** Characters of the secret kept in clear, so operators can tell keys apart in a list. */
export const API_KEY_PREFIX_LENGTH = 10;
// Anything longer is not a key of ours: refused before hashing or touching the database.
const MAX_SECRET_LENGTH = 256;
const MIN_KNOWN_SECRET_LENGTH = 12;
// Checked before a uuid reaches PostgreSQL, which would answer a malformed one with an error, not "no such row".
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Who is calling: what a valid key resolves to. */
export interface ResolvedApiKey {
  keyId: string;
  role: ApiRole;
  /** The team member a navigator or lead key acts as; null for integration and admin keys. */
  memberId: string | null;
  teamCode: string | null;
  memberRole: MemberRole | null;
}

/** A key as listed: never the secret, never its hash. */
export interface ApiKeyInfo {
  id: string;
  prefix: string;
  role: ApiRole;
  memberId: string | null;
  teamCode: string | null;
  label: string;
  createdAt: string;
  revokedAt: string | null;
}

/** A key just created: the only time its secret is seen. */
export interface CreatedApiKey extends ApiKeyInfo {
  secret: string;
}

export interface NewApiKey {
  role: ApiRole;
  memberId?: string | null;
  label: string;
}

/** A refused key operation: the HTTP status it maps to and a message safe to show (nothing changed). */
export class ApiKeyError extends Error {
  constructor(
    readonly status: 404 | 409 | 422,
    message: string,
  ) {
    super(message);
    this.name = 'ApiKeyError';
  }
}

/** `sk_` + 32 random bytes, base64url: 256 bits, so a hash lookup needs no salt or slow KDF. */
export function generateApiKeySecret(): string {
  return `sk_${randomBytes(32).toString('base64url')}`;
}

export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function apiKeyPrefix(secret: string): string {
  return secret.slice(0, API_KEY_PREFIX_LENGTH);
}

/**
 * Who a key of `role` may be bound to: navigators and leads to an existing, active member (a lead key only to a
 * navigator-lead or clinical-lead); integration and admin keys to nobody. Returns the reason a binding is refused.
 */
export function apiKeyBindingProblem(
  role: ApiRole,
  memberId: string | null,
  member: { role: MemberRole; active: boolean } | null,
): string | null {
  if (!(API_KEY_ROLES as readonly string[]).includes(role)) return `unknown role '${role}'`;
  if (!MEMBER_BOUND.has(role)) return memberId ? `${role} keys are not bound to a team member` : null;
  if (!memberId) return `${role} keys must be bound to a team member (memberId)`;
  if (!member) return `no team member ${memberId}`;
  if (!member.active) return `team member ${memberId} is inactive`;
  if (role === 'lead' && !LEAD_MEMBER_ROLES.has(member.role))
    return `a lead key needs a navigator-lead or clinical-lead member, not a ${member.role}`;
  return null;
}

/**
 * Whether a stored key still grants its role. A member deactivated, or a lead moved to a non-lead role, after the
 * key was issued loses the key's access at once, without anyone having to remember to revoke it.
 */
export function resolvedKeyIsValid(row: {
  role: ApiRole;
  memberId: string | null;
  memberRole: MemberRole | null;
  memberActive: boolean | null;
}): boolean {
  if (!(API_KEY_ROLES as readonly string[]).includes(row.role)) return false;
  if (!MEMBER_BOUND.has(row.role)) return row.memberId === null;
  if (!row.memberId || !row.memberActive || !row.memberRole) return false;
  return row.role !== 'lead' || LEAD_MEMBER_ROLES.has(row.memberRole);
}

const INFO_COLUMNS = `k.id, k.prefix, k.role, k.member_id AS "memberId", m.team_code AS "teamCode", k.label,
  k.created_at AS "createdAt", k.revoked_at AS "revokedAt"`;

/** API keys bound to roles. Only the SHA-256 of a secret is stored; the secret is returned once, by createKey. */
export class ApiKeyStore {
  constructor(private readonly pool: Pool) {}

  async createKey(key: NewApiKey): Promise<CreatedApiKey> {
    const secret = generateApiKeySecret();
    const info = await this.insert(secret, key);
    if (!info) throw new Error('a freshly generated API key collided with a stored one'); // 2^-256: not expected
    return { ...info, secret };
  }

  /**
   * Stores a key whose secret the caller chose (the demo seed's well-known keys). Idempotent: the same secret with
   * the same role and member returns the stored key as it is (a revoked one stays revoked); the same secret with a
   * different role or member is refused rather than silently re-bound.
   */
  async ensureKey(key: NewApiKey & { secret: string }): Promise<ApiKeyInfo> {
    if (key.secret.length < MIN_KNOWN_SECRET_LENGTH || key.secret.length > MAX_SECRET_LENGTH)
      throw new ApiKeyError(422, `a key secret must be ${MIN_KNOWN_SECRET_LENGTH}-${MAX_SECRET_LENGTH} characters`);
    // Looked up first, so a re-run does not re-check a binding that was valid when the key was made.
    const found = (await this.findBySecret(key.secret)) ?? (await this.insert(key.secret, key));
    // null: a concurrent ensureKey inserted it between the two statements
    const stored = found ?? (await this.findBySecret(key.secret));
    if (!stored) throw new Error('API key vanished while being ensured');
    if (stored.role !== key.role || stored.memberId !== (key.memberId ?? null))
      throw new ApiKeyError(409, `key ${stored.prefix}… exists with another role or member`);
    return stored;
  }

  /** The caller a secret stands for; null when unknown, revoked, or its member may no longer use it. */
  async resolve(secret: string): Promise<ResolvedApiKey | null> {
    if (!secret || secret.length > MAX_SECRET_LENGTH) return null;
    // Looked up by hash: comparing the secret itself is never done, so there is no timing oracle on it.
    const { rows } = await this.pool.query<{
      keyId: string;
      role: ApiRole;
      memberId: string | null;
      teamCode: string | null;
      memberRole: MemberRole | null;
      memberActive: boolean | null;
    }>(
      `SELECT k.id AS "keyId", k.role, k.member_id AS "memberId", m.team_code AS "teamCode", m.role AS "memberRole",
              m.active AS "memberActive"
         FROM api_keys k LEFT JOIN team_members m ON m.id = k.member_id
        WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
      [hashApiKeySecret(secret)],
    );
    const row = rows[0];
    if (!row || !resolvedKeyIsValid(row)) return null;
    return {
      keyId: row.keyId,
      role: row.role,
      memberId: row.memberId,
      teamCode: row.teamCode,
      memberRole: row.memberRole,
    };
  }

  /** Revokes a key (idempotent: a second call keeps the first revocation time); null when there is no such key. */
  async revoke(id: string): Promise<ApiKeyInfo | null> {
    if (!UUID.test(id)) return null;
    const { rows } = await this.pool.query<ApiKeyInfo>(
      `WITH revoked AS (
         UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING *
       )
       SELECT ${INFO_COLUMNS} FROM revoked k LEFT JOIN team_members m ON m.id = k.member_id`,
      [id],
    );
    return rows[0] ?? null;
  }

  /** Every key, newest first, revoked ones included (with revokedAt): no secrets, no hashes. */
  async list(): Promise<ApiKeyInfo[]> {
    const { rows } = await this.pool.query<ApiKeyInfo>(
      `SELECT ${INFO_COLUMNS} FROM api_keys k LEFT JOIN team_members m ON m.id = k.member_id
        ORDER BY k.created_at DESC, k.id`,
    );
    return rows;
  }

  private async insert(secret: string, key: NewApiKey): Promise<ApiKeyInfo | null> {
    const memberId = key.memberId ?? null;
    const member = memberId ? await this.bindingMember(memberId) : null;
    const problem = apiKeyBindingProblem(key.role, memberId, member);
    if (problem) throw new ApiKeyError(422, problem);
    const { rows } = await this.pool.query<ApiKeyInfo>(
      `WITH inserted AS (
         INSERT INTO api_keys (id, key_hash, prefix, role, member_id, label) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (key_hash) DO NOTHING RETURNING *
       )
       SELECT ${INFO_COLUMNS} FROM inserted k LEFT JOIN team_members m ON m.id = k.member_id`,
      [randomUUID(), hashApiKeySecret(secret), apiKeyPrefix(secret), key.role, memberId, key.label],
    );
    return rows[0] ?? null;
  }

  private async findBySecret(secret: string): Promise<ApiKeyInfo | null> {
    const { rows } = await this.pool.query<ApiKeyInfo>(
      `SELECT ${INFO_COLUMNS} FROM api_keys k LEFT JOIN team_members m ON m.id = k.member_id WHERE k.key_hash = $1`,
      [hashApiKeySecret(secret)],
    );
    return rows[0] ?? null;
  }

  private async bindingMember(memberId: string): Promise<{ role: MemberRole; active: boolean } | null> {
    if (!UUID.test(memberId)) return null;
    const { rows } = await this.pool.query<{ role: MemberRole; active: boolean }>(
      `SELECT role, active FROM team_members WHERE id = $1`,
      [memberId],
    );
    return rows[0] ?? null;
  }
}
