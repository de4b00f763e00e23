import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { MemberRole } from '@app/navigation';

export interface CareTeam {
  code: string;
  name: string;
  createdAt: string;
  updatedAt: string;
}

export interface CareTeamSummary extends CareTeam {
  /** Active members only: the people routing can use. */
  activeMembers: number;
}

export interface TeamMember {
  id: string;
  teamCode: string;
  name: string;
  email: string;
  role: MemberRole;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface CareTeamWithMembers extends CareTeam {
  members: TeamMember[];
}

export interface MemberPatch {
  active?: boolean;
  role?: MemberRole;
  name?: string;
  email?: string;
}

/** A refused change to teams or members: the HTTP status it maps to and a message safe to show (nothing changed). */
export class CareTeamError extends Error {
  constructor(
    readonly status: 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'CareTeamError';
  }
}

/**
 * A team code as upstream systems send it in `careTeam` (SARC-NORTH) or a routing target (surgical-oncology); up to
 * 100 characters, the longest `careTeam` the event contract accepts.
 */
export const TEAM_CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

const TEAM_COLUMNS = `code, name, created_at AS "createdAt", updated_at AS "updatedAt"`;
const MEMBER_COLUMNS = `id, team_code AS "teamCode", name, email, role, active, created_at AS "createdAt",
  updated_at AS "updatedAt"`;

// Emails are compared case-insensitively by people; storing them lower-cased keeps UNIQUE (team_code, email) honest.
export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

const isPgError = (err: unknown, code: string): boolean => (err as { code?: string } | null)?.code === code;

/** Care teams and their members (staff, not patients). Teams are never deleted: tasks and history refer to them. */
export class CareTeamStore {
  constructor(private readonly pool: Pool) {}

  async createTeam(team: { code: string; name: string }): Promise<CareTeamWithMembers> {
    const { rows } = await this.pool.query<CareTeam>(
      `INSERT INTO care_teams (code, name) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING RETURNING ${TEAM_COLUMNS}`,
      [team.code, team.name],
    );
    if (rows.length === 0) throw new CareTeamError(409, `team '${team.code}' already exists`);
    return { ...rows[0], members: [] };
  }

  async listTeams(): Promise<CareTeamSummary[]> {
    const { rows } = await this.pool.query<CareTeamSummary>(
      `SELECT ${TEAM_COLUMNS},
              (SELECT count(*)::int FROM team_members m WHERE m.team_code = t.code AND m.active) AS "activeMembers"
         FROM care_teams t ORDER BY code`,
    );
    return rows;
  }

  async getTeam(code: string): Promise<CareTeamWithMembers | null> {
    const { rows } = await this.pool.query<CareTeam>(`SELECT ${TEAM_COLUMNS} FROM care_teams WHERE code = $1`, [code]);
    if (rows.length === 0) return null;
    return { ...rows[0], members: await this.listMembers(code) };
  }

  async addMember(
    teamCode: string,
    member: { name: string; email: string; role: MemberRole; active?: boolean },
  ): Promise<TeamMember> {
    const email = normaliseEmail(member.email);
    try {
      const { rows } = await this.pool.query<TeamMember>(
        `INSERT INTO team_members (id, team_code, name, email, role, active) VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING ${MEMBER_COLUMNS}`,
        [randomUUID(), teamCode, member.name, email, member.role, member.active ?? true],
      );
      return rows[0];
    } catch (err) {
      if (isPgError(err, '23503')) throw new CareTeamError(404, `no team '${teamCode}'`);
      if (isPgError(err, '23505')) throw new CareTeamError(409, `team '${teamCode}' already has a member ${email}`);
      throw err;
    }
  }

  /** Changes only the fields given; an empty patch returns the member as it is. */
  async updateMember(id: string, patch: MemberPatch): Promise<TeamMember> {
    const sets: string[] = [];
    const params: unknown[] = [id];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (patch.name !== undefined) set('name', patch.name);
    if (patch.email !== undefined) set('email', normaliseEmail(patch.email));
    if (patch.role !== undefined) set('role', patch.role);
    if (patch.active !== undefined) set('active', patch.active);
    try {
      const { rows } = sets.length
        ? await this.pool.query<TeamMember>(
            `UPDATE team_members SET ${sets.join(', ')}, updated_at = now() WHERE id = $1 RETURNING ${MEMBER_COLUMNS}`,
            params,
          )
        : await this.pool.query<TeamMember>(`SELECT ${MEMBER_COLUMNS} FROM team_members WHERE id = $1`, params);
      if (rows.length === 0) throw new CareTeamError(404, `no member ${id}`);
      return rows[0];
    } catch (err) {
      if (isPgError(err, '23505')) throw new CareTeamError(409, `the team already has a member with that email`);
      throw err;
    }
  }

  async getMember(id: string): Promise<TeamMember | null> {
    const { rows } = await this.pool.query<TeamMember>(`SELECT ${MEMBER_COLUMNS} FROM team_members WHERE id = $1`, [
      id,
    ]);
    return rows[0] ?? null;
  }

  /** Leads first, then navigators and coordinators, each by name: how a team sheet reads. */
  async listMembers(teamCode: string): Promise<TeamMember[]> {
    const { rows } = await this.pool.query<TeamMember>(
      `SELECT ${MEMBER_COLUMNS} FROM team_members WHERE team_code = $1
        ORDER BY CASE role WHEN 'clinical-lead' THEN 0 WHEN 'navigator-lead' THEN 1 ELSE 2 END, name, id`,
      [teamCode],
    );
    return rows;
  }
}
