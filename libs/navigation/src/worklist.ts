/** How a worklist is ordered and what "overdue" means for a task. Pure. */
import type { TaskPriority } from '@app/pathway';
import { isOpen, type TaskStatus } from './task-lifecycle';

/** Urgent first: the rank SQL sorts by (lower is first). */
export const PRIORITY_RANK: Record<TaskPriority, number> = { urgent: 0, high: 1, routine: 2 };

export function isTaskOverdue(task: { status: TaskStatus; dueAt: string }, now: Date): boolean {
  return isOpen(task.status) && Date.parse(task.dueAt) < now.getTime();
}
