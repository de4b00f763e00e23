/**
 * Who gets a task: the team by task type (configuration), the patient's care team first where the event named
 * one, and within a team the navigator with the fewest open tasks. Pure: the store supplies the teams and counts.
 */
import { TASK_TYPES, type TaskType } from '@app/pathway';

export const MEMBER_ROLES = ['navigator', 'coordinator', 'navigator-lead', 'clinical-lead'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

/** Members who receive routed tasks; leads receive escalations (and a team's tasks when it has nobody else). */
export const RECEIVING_ROLES: readonly MemberRole[] = ['navigator', 'coordinator'];

export interface RoutingRule {
  /** Team code that receives this task type. */
  team: string;
  /** The patient's own care team (named by `patient.registered`) takes it when it has someone to receive it. */
  careTeamFirst: boolean;
}

export interface RoutingRules {
  byType: Record<TaskType, RoutingRule>;
  /** Where a task goes when neither the care team nor its type's team can take it. */
  fallbackTeam: string;
}

/**
 * The routing, with the choices it left open: medical-oncology referrals, visit reminders and
 * data-quality reviews go to the navigator pool (navigators make referrals, book visits and chase records).
 * Surgical and radiotherapy decisions and the tumour board stay with their specialist teams even when the
 * patient has a care team: they are decisions of those services, not navigation work.
 */
export const DEFAULT_ROUTING: RoutingRules = {
  byType: {
    're-excision-review': { team: 'surgical-oncology', careTeamFirst: false },
    'mdt-review': { team: 'tumour-board', careTeamFirst: false },
    'radiotherapy-evaluation': { team: 'radiotherapy', careTeamFirst: false },
    'imaging-order': { team: 'navigators', careTeamFirst: true },
    'visit-reminder': { team: 'navigators', careTeamFirst: true },
    'medical-oncology-referral': { team: 'navigators', careTeamFirst: true },
    'surveillance-overdue': { team: 'navigators', careTeamFirst: true },
    'data-quality-review': { team: 'navigators', careTeamFirst: true },
  },
  fallbackTeam: 'navigators',
};

export interface RoutingMember {
  id: string;
  role: MemberRole;
  active: boolean;
  /** Open tasks assigned to this member now. */
  openTasks: number;
}

export interface RoutingDecision {
  teamCode: string;
  assigneeId: string;
  /** Why this team: for the audit trail. */
  via: 'care-team' | 'task-type' | 'fallback';
}

/**
 * Routes one task. `exclude` holds members who must not get it again (who rejected it). A team counts only
 * if it has an active receiving member; a team with nobody but a navigator lead gives the task to the lead.
 */
export function routeTask(
  task: { type: TaskType; careTeam: string | null; exclude?: readonly string[] },
  teams: ReadonlyMap<string, readonly RoutingMember[]>,
  rules: RoutingRules = DEFAULT_ROUTING,
): RoutingDecision | null {
  const rule = rules.byType[task.type] ?? { team: rules.fallbackTeam, careTeamFirst: true };
  const candidates: [string | null, RoutingDecision['via']][] = [
    [rule.careTeamFirst ? task.careTeam : null, 'care-team'],
    [rule.team, 'task-type'],
    [rules.fallbackTeam, 'fallback'],
  ];
  for (const [teamCode, via] of candidates) {
    if (!teamCode) continue;
    const assigneeId = pickMember(teams.get(teamCode) ?? [], task.exclude ?? []);
    if (assigneeId) return { teamCode, assigneeId, via };
  }
  return null;
}

/** Fewest open tasks first; ties by id, so the same counts always give the same answer. */
function pickMember(members: readonly RoutingMember[], exclude: readonly string[]): string | null {
  const available = members.filter((m) => m.active && !exclude.includes(m.id));
  const pick = (roles: readonly MemberRole[]) =>
    available
      .filter((m) => roles.includes(m.role))
      .sort((a, b) => a.openTasks - b.openTasks || a.id.localeCompare(b.id))[0]?.id ?? null;
  return pick(RECEIVING_ROLES) ?? pick(['navigator-lead']);
}

/** Parses routing rules from configuration (JSON), naming the bad key. Unlisted task types keep their default. */
export function parseRoutingRules(json: string): RoutingRules {
  const raw = JSON.parse(json) as Partial<{ byType: Record<string, Partial<RoutingRule>>; fallbackTeam: string }>;
  const byType = { ...DEFAULT_ROUTING.byType };
  for (const [type, rule] of Object.entries(raw.byType ?? {})) {
    if (!(TASK_TYPES as readonly string[]).includes(type)) throw new Error(`routing: unknown task type '${type}'`);
    if (typeof rule.team !== 'string' || rule.team === '') throw new Error(`routing: ${type}.team must be a team code`);
    byType[type as TaskType] = { team: rule.team, careTeamFirst: rule.careTeamFirst ?? true };
  }
  return { byType, fallbackTeam: raw.fallbackTeam ?? DEFAULT_ROUTING.fallbackTeam };
}
