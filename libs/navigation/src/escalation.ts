/**
 * When a task escalates, and to whom. Pure: the timer handler and the sweeper both ask this after re-reading the
 * task from PostgreSQL, so a timer that fires early, late, twice, or never (Redis emptied) changes nothing.
 *
 * - R-LR-ESCALATE step 5: an urgent task marked `escalate`, not accepted within 24 h (default), goes to the
 *   navigator lead; within 48 h, to the clinical lead. Accepting stops the chain.
 * - R-SURV-OVERDUE: a surveillance-overdue task still open when it falls due (14 days after the item's window
 *   closed, default, and at least 14 days after the task was opened) goes to the navigator lead.
 */
import type { PathwayConfig } from '@app/pathway';
import { isOpen, type TaskStatus } from './task-lifecycle';

export type EscalationRecipient = 'navigator-lead' | 'clinical-lead';

export interface EscalatingTask {
  type: string;
  status: TaskStatus;
  escalate: boolean;
  /** ISO date-times. */
  createdAt: string;
  dueAt: string;
  acceptedAt: string | null;
  /** 0 = not escalated; 1 = navigator lead; 2 = clinical lead. */
  escalationLevel: number;
}

export interface EscalationStep {
  level: 1 | 2;
  recipient: EscalationRecipient;
  ruleId: 'R-LR-ESCALATE' | 'R-SURV-OVERDUE';
  /** When this step fell due (ISO). */
  dueAt: string;
  /** Hours the task went unaccepted, for the message (R-LR-ESCALATE only). */
  afterHours?: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The next escalation step that is due at `now`, or null. Call again after applying one: a late sweep catches up. */
export function dueEscalation(task: EscalatingTask, now: Date, config: PathwayConfig): EscalationStep | null {
  if (!isOpen(task.status)) return null;
  const next = nextStep(task, config);
  return next && Date.parse(next.dueAt) <= now.getTime() ? next : null;
}

/** The next step whatever the time (for scheduling a timer), or null when the chain is over. */
export function nextStep(task: EscalatingTask, config: PathwayConfig): EscalationStep | null {
  if (!isOpen(task.status)) return null;
  if (task.escalate) {
    if (task.acceptedAt !== null || task.escalationLevel >= 2) return null;
    const { navigatorLeadAfterHours, clinicalLeadAfterHours } = config.escalation;
    const level = task.escalationLevel === 0 ? 1 : 2;
    const afterHours = level === 1 ? navigatorLeadAfterHours : clinicalLeadAfterHours;
    return {
      level,
      recipient: level === 1 ? 'navigator-lead' : 'clinical-lead',
      ruleId: 'R-LR-ESCALATE',
      dueAt: new Date(Date.parse(task.createdAt) + afterHours * HOUR_MS).toISOString(),
      afterHours,
    };
  }
  if (task.type === 'surveillance-overdue' && task.escalationLevel === 0) {
    // 14 days (default) after the window closed, but never sooner than 14 days after the navigator got the task:
    // an item found overdue late (a backfill, a sweep after an outage) still gives the navigator their fortnight.
    const navigatorHad = Date.parse(task.createdAt) + config.surveillanceOverdue.escalateAfterDays * DAY_MS;
    return {
      level: 1,
      recipient: 'navigator-lead',
      ruleId: 'R-SURV-OVERDUE',
      dueAt: new Date(Math.max(Date.parse(task.dueAt), navigatorHad)).toISOString(),
    };
  }
  return null;
}
