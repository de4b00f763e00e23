import type { Pool } from 'pg';
import { riskOf, type PatientState } from '@app/pathway';
import type { RecordedEffect } from './apply-clinical-event';

export interface TaskView {
  id: string;
  patientId: string;
  eventId: string;
  type: string;
  ruleId: string;
  priority: string;
  status: string;
  dueAt: string;
  reason: string;
  modality: string | null;
  region: string | null;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  /** Routing: the team and member who have it (null until routed). */
  teamCode: string | null;
  assigneeId: string | null;
  acceptedAt: string | null;
  /** 0 none, 1 navigator lead, 2 clinical lead. */
  escalationLevel: number;
  /** The surveillance item this task chases (imaging-order, visit-reminder, surveillance-overdue). */
  surveillanceItemKey: string | null;
}

export interface SurveillanceItemView {
  key: string;
  kind: string;
  ruleId: string;
  modality: string | null;
  region: string | null;
  dueAt: string;
  overdueAt: string;
  status: string;
}

export interface PatientView {
  patientId: string;
  state: string;
  version: number;
  risk: unknown;
  openTasks: TaskView[];
  surveillancePlan: SurveillanceItemView[];
  updatedAt: string;
}

export interface TimelineEntry {
  seq: number;
  eventId: string;
  type: string;
  occurredAt: string;
  receivedAt: string;
  source: string;
  outcome: string | null;
  /** The event's clinical payload as received (the record a clinician audits). */
  payload: unknown;
  patientVersion: number | null;
  /** What the event caused, each with its rule id; a surveillance plan is summarised (its items are in the patient view). */
  effects: RecordedEffect[];
}

export interface WorklistQuery {
  /** Whose: one member's tasks, or a team's. */
  assigneeId?: string;
  teamCode?: string;
  type?: string;
  priority?: string;
  /** Only tasks past their due date. */
  overdue?: boolean;
  /** Only tasks due at or before this ISO date-time. */
  dueBefore?: string;
  now: Date;
  limit: number;
  offset: number;
}

export interface WorklistRow extends TaskView {
  overdue: boolean;
}

export interface TaskHistoryEntry {
  at: string;
  /** A member id, 'system', or the event that changed it (`event:<id>`). */
  actor: string;
  action: string;
  fromStatus: string | null;
  toStatus: string | null;
  assigneeId: string | null;
  reason: string | null;
}

export interface TaskDetail extends TaskView {
  overdue: boolean;
  /** Every change, oldest first: created by its event, routed, accepted, escalated, closed. */
  history: TaskHistoryEntry[];
  /** Emails about this task (recipients are staff; the messages carry no patient data). */
  notifications: {
    id: string;
    kind: string;
    memberId: string;
    status: string;
    createdAt: string;
    sentAt: string | null;
  }[];
}

export interface TaskQuery {
  /** A lead's view: this team's tasks and the ones nobody could route. */
  teamCode?: string;
  patientId?: string;
  type?: string;
  status?: string;
  priority?: string;
  limit: number;
  offset: number;
}

/** A task row as TaskView (shared by every query that returns tasks). */
export const TASK_COLUMNS = `id, patient_id AS "patientId", event_id AS "eventId", type, rule_id AS "ruleId", priority, status,
  due_at AS "dueAt", reason, modality, region, created_at AS "createdAt", updated_at AS "updatedAt", closed_at AS "closedAt",
  team_code AS "teamCode", assignee_id AS "assigneeId", accepted_at AS "acceptedAt", escalation_level AS "escalationLevel",
  surveillance_item_key AS "surveillanceItemKey"`;
const OPEN = `status NOT IN ('completed', 'cancelled', 'rejected')`;
const PRIORITY_ORDER = `CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 ELSE 2 END`;

/** What the API reads: patients, their timeline, tasks. Queries only; writes go through the pathway's door. */
export class PathwayReadModels {
  constructor(private readonly pool: Pool) {}

  async patient(patientId: string): Promise<PatientView | null> {
    const { rows } = await this.pool.query<{
      state: PatientState;
      pathway: string;
      version: number;
      updated_at: string;
    }>('SELECT state, pathway, version, updated_at FROM patients WHERE patient_id = $1', [patientId]);
    if (rows.length === 0) return null;
    const [tasks, items] = await Promise.all([
      this.pool.query<TaskView>(
        `SELECT ${TASK_COLUMNS} FROM tasks WHERE patient_id = $1 AND ${OPEN} ORDER BY ${PRIORITY_ORDER}, due_at`,
        [patientId],
      ),
      this.pool.query<SurveillanceItemView>(
        `SELECT item_key AS key, kind, rule_id AS "ruleId", modality, region, due_at AS "dueAt", overdue_at AS "overdueAt", status
           FROM surveillance_items WHERE patient_id = $1 AND status <> 'cancelled' ORDER BY due_at, kind`,
        [patientId],
      ),
    ]);
    const row = rows[0];
    return {
      patientId,
      state: row.pathway,
      version: row.version,
      risk: riskOf(row.state),
      openTasks: tasks.rows,
      surveillancePlan: items.rows,
      updatedAt: row.updated_at,
    };
  }

  async timeline(patientId: string): Promise<TimelineEntry[] | null> {
    const { rows } = await this.pool.query<TimelineEntry>(
      `SELECT seq, event_id AS "eventId", type, occurred_at AS "occurredAt", received_at AS "receivedAt", source, outcome,
              envelope -> 'payload' AS payload, patient_version AS "patientVersion", COALESCE(effects, '[]'::jsonb) AS effects
         FROM clinical_events WHERE patient_id = $1 ORDER BY occurred_at, event_id COLLATE "C"`,
      [patientId],
    );
    if (rows.length === 0) {
      const exists = await this.pool.query('SELECT 1 FROM patients WHERE patient_id = $1', [patientId]);
      return exists.rowCount ? [] : null;
    }
    return rows;
  }

  async tasks(query: TaskQuery): Promise<{ items: TaskView[]; total: number }> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      conditions.push(sql.replace('?', `$${params.length}`));
    };
    if (query.teamCode !== undefined) add('(team_code = ? OR team_code IS NULL)', query.teamCode);
    if (query.patientId) add('patient_id = ?', query.patientId);
    if (query.type) add('type = ?', query.type);
    if (query.status) add('status = ?', query.status);
    if (query.priority) add('priority = ?', query.priority);
    params.push(query.limit, query.offset);
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const { rows } = await this.pool.query<TaskView & { total: number }>(
      `SELECT ${TASK_COLUMNS}, count(*) OVER ()::int AS total FROM tasks ${where}
        ORDER BY ${PRIORITY_ORDER}, due_at, id LIMIT $${params.length - 1} OFFSET $${params.length}`,
      params,
    );
    return { items: rows.map(({ total: _total, ...rest }) => rest), total: rows[0]?.total ?? 0 };
  }

  /** A worklist: open tasks, urgent first, then by due date; each row says whether it is overdue. */
  async worklist(query: WorklistQuery): Promise<{ items: WorklistRow[]; total: number }> {
    const params: unknown[] = [query.now.toISOString()];
    const conditions = [OPEN];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      conditions.push(sql.replace('?', `$${params.length}`));
    };
    if (query.assigneeId) add('assignee_id = ?', query.assigneeId);
    if (query.teamCode) add('team_code = ?', query.teamCode);
    if (query.type) add('type = ?', query.type);
    if (query.priority) add('priority = ?', query.priority);
    if (query.overdue) conditions.push('due_at < $1');
    if (query.dueBefore) add('due_at <= ?', query.dueBefore);
    params.push(query.limit, query.offset);
    const { rows } = await this.pool.query<WorklistRow & { total: number }>(
      `SELECT ${TASK_COLUMNS}, due_at < $1 AS overdue, count(*) OVER ()::int AS total FROM tasks
        WHERE ${conditions.join(' AND ')}
        ORDER BY ${PRIORITY_ORDER}, due_at, id LIMIT $${params.length - 1} OFFSET $${params.length}`,
      params,
    );
    return { items: rows.map(({ total: _total, ...rest }) => rest), total: rows[0]?.total ?? 0 };
  }

  /** One task with its audit trail (creation and event closures come from the task row itself). */
  async task(taskId: string, now: Date): Promise<TaskDetail | null> {
    const { rows } = await this.pool.query<TaskView & { closedByEventId: string | null; overdue: boolean }>(
      `SELECT ${TASK_COLUMNS}, closed_by_event_id AS "closedByEventId", (${OPEN} AND due_at < $2) AS overdue
         FROM tasks WHERE id = $1`,
      [taskId, now.toISOString()],
    );
    if (rows.length === 0) return null;
    const { closedByEventId, ...task } = rows[0];
    const [history, notifications] = await Promise.all([
      this.pool.query<TaskHistoryEntry>(
        `SELECT at, actor, action, from_status AS "fromStatus", to_status AS "toStatus", assignee_id AS "assigneeId", reason
           FROM task_history WHERE task_id = $1 ORDER BY id`,
        [taskId],
      ),
      this.pool.query<TaskDetail['notifications'][number]>(
        `SELECT id, kind, member_id AS "memberId", status, created_at AS "createdAt", sent_at AS "sentAt"
           FROM notifications WHERE task_id = $1 ORDER BY created_at, id`,
        [taskId],
      ),
    ]);
    const created: TaskHistoryEntry = {
      at: task.createdAt,
      actor: `event:${task.eventId}`,
      action: 'created',
      fromStatus: null,
      toStatus: 'requested',
      assigneeId: null,
      reason: task.reason,
    };
    const closedByEvent: TaskHistoryEntry[] =
      closedByEventId && task.closedAt
        ? [
            {
              at: task.closedAt,
              actor: `event:${closedByEventId}`,
              action: 'closed-by-event',
              fromStatus: null,
              toStatus: task.status,
              assigneeId: task.assigneeId,
              reason: null,
            },
          ]
        : [];
    return { ...task, history: [created, ...history.rows, ...closedByEvent], notifications: notifications.rows };
  }
}
