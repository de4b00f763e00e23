/**
 * The life of a navigator task, in FHIR Task status codes, and who may move it. Pure: the store locks the task
 * row, asks `planTaskAction`, and writes what it answers (or refuses with its status and message).
 *
 *   requested → accepted → in-progress → completed
 *   requested | accepted → rejected (back to routing: another navigator of the team gets it)
 *   any open status → on-hold → back to the status it had; any open status → cancelled (a lead, with a reason)
 */

export const TASK_STATUSES = [
  'requested',
  'accepted',
  'in-progress',
  'on-hold',
  'completed',
  'cancelled',
  'rejected',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const OPEN_TASK_STATUSES: readonly TaskStatus[] = ['requested', 'accepted', 'in-progress', 'on-hold'];

export const TASK_ACTIONS = ['accept', 'start', 'complete', 'hold', 'resume', 'reject', 'cancel', 'reassign'] as const;
export type TaskAction = (typeof TASK_ACTIONS)[number];

export type ApiRole = 'integration' | 'navigator' | 'lead' | 'admin';

export interface TaskActor {
  role: ApiRole;
  /** The team member acting (navigator and lead keys are bound to one). */
  memberId: string | null;
  teamCode: string | null;
}

export interface TaskSnapshot {
  status: TaskStatus;
  heldFrom: TaskStatus | null;
  assigneeId: string | null;
  teamCode: string | null;
}

export interface TaskActionInput {
  reason?: string;
  /** reassign: the member who gets the task. */
  assigneeId?: string;
}

export type TaskActionPlan =
  | {
      ok: true;
      to: TaskStatus;
      assigneeId: string | null;
      heldFrom: TaskStatus | null;
      /** The task was accepted now (stops the escalation chain, R-LR-ESCALATE step 5). */
      accepted: boolean;
      /** Rejected: the store routes it again, to someone other than who rejected it. */
      reroute: boolean;
      /** Someone new got the task: they are told by email. */
      newAssignee: boolean;
    }
  | { ok: false; status: 403 | 409 | 422; message: string };

/** Where each action may start, and where it leads (null: back to the status before the hold). */
const MOVES: Record<Exclude<TaskAction, 'reassign'>, { from: readonly TaskStatus[]; to: TaskStatus | null }> = {
  accept: { from: ['requested'], to: 'accepted' },
  start: { from: ['accepted'], to: 'in-progress' },
  complete: { from: ['in-progress'], to: 'completed' },
  hold: { from: ['requested', 'accepted', 'in-progress'], to: 'on-hold' },
  resume: { from: ['on-hold'], to: null },
  reject: { from: ['requested', 'accepted'], to: 'rejected' },
  cancel: { from: OPEN_TASK_STATUSES, to: 'cancelled' },
};

/** Actions that must say why: the reason goes into the audit trail. */
const NEEDS_REASON: ReadonlySet<TaskAction> = new Set(['hold', 'reject', 'cancel', 'reassign']);
/** Actions a lead takes, not a navigator: cancelling clinical work and moving it between people. */
const LEAD_ONLY: ReadonlySet<TaskAction> = new Set(['cancel', 'reassign']);

export function isOpen(status: TaskStatus): boolean {
  return OPEN_TASK_STATUSES.includes(status);
}

/**
 * Whether `actor` may take `action` on `task` now, and what it changes. Navigators act on their team's tasks:
 * accepting a team task makes it theirs; the other actions are the assignee's. Leads act on every task of their
 * team. Everyone else (integration, admin) works no tasks.
 */
export function planTaskAction(
  task: TaskSnapshot,
  action: TaskAction,
  actor: TaskActor,
  input: TaskActionInput = {},
): TaskActionPlan {
  if (actor.role !== 'navigator' && actor.role !== 'lead')
    return { ok: false, status: 403, message: `role '${actor.role}' does not work tasks` };
  if (!actor.memberId || !actor.teamCode || task.teamCode !== actor.teamCode)
    return { ok: false, status: 403, message: `the task belongs to another team (${task.teamCode ?? 'unrouted'})` };
  if (LEAD_ONLY.has(action) && actor.role !== 'lead')
    return { ok: false, status: 403, message: `only a lead may ${action} a task` };
  if (actor.role === 'navigator' && action !== 'accept' && task.assigneeId !== actor.memberId)
    return { ok: false, status: 403, message: `only the task's assignee or a lead may ${action} it` };
  const reason = input.reason?.trim();
  if (NEEDS_REASON.has(action) && !reason) return { ok: false, status: 422, message: `${action} needs a reason` };

  if (action === 'reassign') {
    if (!isOpen(task.status)) return illegal(task.status, action);
    if (!input.assigneeId) return { ok: false, status: 422, message: 'reassign needs an assigneeId' };
    if (input.assigneeId === task.assigneeId)
      return { ok: false, status: 409, message: 'the task is already assigned to that member' };
    return {
      ok: true,
      to: task.status,
      assigneeId: input.assigneeId,
      heldFrom: task.heldFrom,
      accepted: false,
      reroute: false,
      newAssignee: true,
    };
  }

  const move = MOVES[action];
  if (!move.from.includes(task.status)) return illegal(task.status, action);
  const to = move.to ?? task.heldFrom ?? 'requested';
  const takesOver = action === 'accept' && task.assigneeId !== actor.memberId;
  return {
    ok: true,
    to,
    assigneeId: action === 'reject' ? null : takesOver ? actor.memberId : task.assigneeId,
    heldFrom: action === 'hold' ? task.status : null,
    accepted: action === 'accept',
    reroute: action === 'reject',
    newAssignee: false,
  };
}

function illegal(status: TaskStatus, action: TaskAction): TaskActionPlan {
  const allowed = TASK_ACTIONS.filter((a) => (a === 'reassign' ? isOpen(status) : MOVES[a].from.includes(status)));
  return {
    ok: false,
    status: 409,
    message: `cannot ${action} a task that is ${status}; allowed now: ${allowed.length ? allowed.join(', ') : 'none (the task is closed)'}`,
  };
}
