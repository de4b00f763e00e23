import type { Pool } from 'pg';
import { TASK_COLUMNS, type TaskView } from './read-models';

export type InstantComparison = 'gt' | 'ge' | 'lt' | 'le' | 'eq';

export interface FhirTaskSearch {
  /** The team member who has the task (assignee_id, a uuid). */
  owner?: string;
  /** Any of these statuses; an empty list matches nothing (a FHIR code none of our statuses maps to). */
  status?: string[];
  patient?: string;
  /** Every condition must hold; `at` is an ISO 8601 instant, compared at millisecond precision. */
  lastUpdated?: { op: InstantComparison; at: string }[];
  imagingOnly?: boolean;
  /** A navigator's or lead's view: tasks of this team and the ones nobody could route (as GET /tasks/{id}). */
  teamCode?: string;
  count: number;
  offset: number;
}

const SQL_OPERATOR: Record<InstantComparison, string> = { gt: '>', ge: '>=', lt: '<', le: '<=', eq: '=' };

// meta.lastUpdated is written with milliseconds (toISOString); a row stamped by now() has microseconds. Comparing at
// the precision clients see means `_lastUpdated=gt<the last one I saw>` never hands that row back again.
const UPDATED_MS = `date_trunc('milliseconds', updated_at)`;

/** Reads for the FHIR facade (GET /fhir/Task, /fhir/ServiceRequest): tasks filtered by FHIR search parameters. */
export class FhirTaskQueries {
  constructor(private readonly pool: Pool) {}

  /** A page in a stable order (last updated, then id), so a client can page and sync by _lastUpdated. */
  async search(query: FhirTaskSearch): Promise<{ items: TaskView[]; total: number }> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (query.owner !== undefined) conditions.push(`assignee_id = ${param(query.owner)}::uuid`);
    if (query.status !== undefined) conditions.push(`status = ANY(${param(query.status)}::text[])`);
    if (query.patient !== undefined) conditions.push(`patient_id = ${param(query.patient)}`);
    for (const { op, at } of query.lastUpdated ?? [])
      conditions.push(`${UPDATED_MS} ${SQL_OPERATOR[op]} ${param(at)}::timestamptz`);
    if (query.imagingOnly) conditions.push(`type = 'imaging-order'`);
    if (query.teamCode !== undefined) conditions.push(`(team_code = ${param(query.teamCode)} OR team_code IS NULL)`);
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const filterParams = [...params];
    const { rows } = await this.pool.query<TaskView & { total: number }>(
      `SELECT ${TASK_COLUMNS}, count(*) OVER ()::int AS total FROM tasks ${where}
        ORDER BY updated_at, id LIMIT ${param(query.count)} OFFSET ${param(query.offset)}`,
      params,
    );
    let total = rows[0]?.total;
    if (total === undefined) {
      // An empty page (_count=0, or an offset past the end) still owes the client the number of matches.
      const counted = await this.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM tasks ${where}`,
        filterParams,
      );
      total = counted.rows[0].n;
    }
    return { items: rows.map(({ total: _total, ...rest }) => rest), total };
  }

  async get(id: string): Promise<TaskView | null> {
    const { rows } = await this.pool.query<TaskView>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1::uuid`, [id]);
    return rows[0] ?? null;
  }
}
