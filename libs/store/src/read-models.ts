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

export interface TaskQuery {
  patientId?: string;
  type?: string;
  status?: string;
  priority?: string;
  limit: number;
  offset: number;
}

const TASK_COLUMNS = `id, patient_id AS "patientId", event_id AS "eventId", type, rule_id AS "ruleId", priority, status,
  due_at AS "dueAt", reason, modality, region, created_at AS "createdAt", updated_at AS "updatedAt", closed_at AS "closedAt"`;
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
}
