import type { Pool } from 'pg';
import { riskOf, type PatientState } from '@app/pathway';
import { OPEN_TASK_STATUSES } from '@app/navigation';
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
    /** pending, held (until the sweep's end of pass), sent, digested (told by `digestId`), skipped, failed */
    status: string;
    createdAt: string;
    /** When it went out; for a digested one, when its digest did. */
    sentAt: string | null;
    digestId: string | null;
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

/** What a worklist holds, counted per filter value (for the page's filter labels and its "anything new?" poll). */
export interface WorklistSummary {
  /** Open tasks in the worklist. */
  total: number;
  /** Of those, past their due date. */
  overdue: number;
  /** Of those, created at or after `newSince` (the page asks for the last 24 hours: "new since yesterday"). */
  created: number;
  byPriority: Record<string, number>;
  byType: Record<string, number>;
  /** Changes whenever a task enters or leaves this worklist, or changes status, assignee or escalation. */
  version: string;
}

/** One member's share of a team's open tasks (a lead's view). */
export interface MemberLoad {
  memberId: string;
  name: string;
  role: string;
  active: boolean;
  open: number;
  urgent: number;
  overdue: number;
  inProgress: number;
  onHold: number;
  escalated: number;
}

/** An open task whose escalation chain has run or is running (R-LR-ESCALATE step 5, R-SURV-OVERDUE). */
export interface EscalatingTaskView extends TaskView {
  /** SLA escalation applies (R-LR-ESCALATE). */
  escalate: boolean;
}

/** A task row as TaskView (shared by every query that returns tasks). */
export const TASK_COLUMNS = `id, patient_id AS "patientId", event_id AS "eventId", type, rule_id AS "ruleId", priority, status,
  due_at AS "dueAt", reason, modality, region, created_at AS "createdAt", updated_at AS "updatedAt", closed_at AS "closedAt",
  team_code AS "teamCode", assignee_id AS "assigneeId", accepted_at AS "acceptedAt", escalation_level AS "escalationLevel",
  surveillance_item_key AS "surveillanceItemKey"`;
// Open tasks, in the form of the partial indexes' predicates (migration 003: `status IN (...)`). PostgreSQL uses a
// partial index only when it can prove the query implies its predicate, which it cannot from `status NOT IN
// ('completed', 'cancelled', 'rejected')`: with a million tasks every worklist was a sequential scan (docs/performance.md).
const OPEN = `status IN (${OPEN_TASK_STATUSES.map((s) => `'${s}'`).join(', ')})`;
/** Worklist order, urgent first (as written in migration 005's worklist indexes: the planner matches the text). */
export const PRIORITY_ORDER = `CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 ELSE 2 END`;

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
    const where = conditions.join(' AND ');
    // The page's ids and the total come from the worklist indexes alone (migration 005: a member's or a team's open
    // tasks in worklist order, with type and priority); only the page's rows are read from the table. A window count
    // over the whole worklist read every open task of the team (thousands) to show fifty.
    const { rows } = await this.pool.query<WorklistRow & { total: number }>(
      `WITH page AS (
         SELECT id FROM tasks WHERE ${where}
          ORDER BY ${PRIORITY_ORDER}, due_at, id LIMIT $${params.length - 1} OFFSET $${params.length}
       )
       SELECT ${TASK_COLUMNS}, due_at < $1 AS overdue, (SELECT count(*)::int FROM tasks WHERE ${where}) AS total
         FROM tasks JOIN page USING (id)
        ORDER BY ${PRIORITY_ORDER}, due_at, id`,
      params,
    );
    return { items: rows.map(({ total: _total, ...rest }) => rest), total: rows[0]?.total ?? 0 };
  }

  /**
   * The counts behind a worklist's filters (open tasks of one member or one team), and a version that changes with
   * any change a worklist would show: a poll compares versions and reloads the list only when it changed.
   */
  async worklistSummary(query: {
    assigneeId?: string;
    teamCode?: string;
    now: Date;
    newSince: Date;
  }): Promise<WorklistSummary> {
    const params: unknown[] = [query.now.toISOString(), query.newSince.toISOString()];
    const conditions = [OPEN];
    if (query.assigneeId !== undefined) conditions.push(`assignee_id = $${params.push(query.assigneeId)}`);
    if (query.teamCode !== undefined) conditions.push(`team_code = $${params.push(query.teamCode)}`);
    const { rows } = await this.pool.query<WorklistSummary>(
      `WITH open AS (
         SELECT id, type, priority, status, due_at, created_at, updated_at, assignee_id, escalation_level FROM tasks
          WHERE ${conditions.join(' AND ')}
       )
       SELECT (SELECT count(*)::int FROM open) AS total,
              (SELECT count(*)::int FROM open WHERE due_at < $1) AS overdue,
              (SELECT count(*)::int FROM open WHERE created_at >= $2) AS created,
              (SELECT COALESCE(jsonb_object_agg(priority, n), '{}') FROM
                 (SELECT priority, count(*)::int AS n FROM open GROUP BY priority) p) AS "byPriority",
              (SELECT COALESCE(jsonb_object_agg(type, n), '{}') FROM
                 (SELECT type, count(*)::int AS n FROM open GROUP BY type) t) AS "byType",
              (SELECT md5(COALESCE(string_agg(concat_ws(':', id, status, assignee_id, escalation_level, updated_at), ','
                                              ORDER BY id), '')) FROM open) AS version`,
      params,
    );
    return rows[0];
  }

  /** Each member of a team (leads first, then by name) with their open tasks counted, and the team's unassigned. */
  async teamLoad(teamCode: string, now: Date): Promise<{ members: MemberLoad[]; unassigned: number }> {
    const [members, unassigned] = await Promise.all([
      this.pool.query<MemberLoad>(
        `SELECT m.id AS "memberId", m.name, m.role, m.active,
                count(t.id)::int AS open,
                count(t.id) FILTER (WHERE t.priority = 'urgent')::int AS urgent,
                count(t.id) FILTER (WHERE t.due_at < $2)::int AS overdue,
                count(t.id) FILTER (WHERE t.status = 'in-progress')::int AS "inProgress",
                count(t.id) FILTER (WHERE t.status = 'on-hold')::int AS "onHold",
                count(t.id) FILTER (WHERE t.escalation_level > 0)::int AS escalated
           FROM team_members m
           LEFT JOIN tasks t ON t.assignee_id = m.id AND t.team_code = m.team_code AND t.${OPEN}
          WHERE m.team_code = $1
          GROUP BY m.id
          ORDER BY CASE m.role WHEN 'clinical-lead' THEN 0 WHEN 'navigator-lead' THEN 1 ELSE 2 END, m.name, m.id`,
        [teamCode, now.toISOString()],
      ),
      this.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM tasks WHERE team_code = $1 AND assignee_id IS NULL AND ${OPEN}`,
        [teamCode],
      ),
    ]);
    return { members: members.rows, unassigned: unassigned.rows[0].n };
  }

  /**
   * A team's open tasks that have escalated, or whose escalation chain may still run (urgent R-LR-ESCALATE tasks
   * not accepted, surveillance-overdue tasks): the caller asks libs/navigation for each one's next step.
   */
  async teamEscalations(teamCode: string): Promise<EscalatingTaskView[]> {
    const { rows } = await this.pool.query<EscalatingTaskView>(
      `SELECT ${TASK_COLUMNS}, escalate FROM tasks
        WHERE team_code = $1 AND ${OPEN}
          AND (escalation_level > 0 OR (escalate AND accepted_at IS NULL) OR type = 'surveillance-overdue')
        ORDER BY escalation_level DESC, created_at, id
        LIMIT 500`,
      [teamCode],
    );
    return rows;
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
        `SELECT n.id, n.kind, n.member_id AS "memberId", n.status, n.created_at AS "createdAt",
                coalesce(n.sent_at, d.sent_at) AS "sentAt", n.digest_id AS "digestId"
           FROM notifications n LEFT JOIN notifications d ON d.id = n.digest_id
          WHERE n.task_id = $1 ORDER BY n.created_at, n.id`,
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
