import { randomBytes } from 'node:crypto';
import { Client, type Pool } from 'pg';
import { createPool, ensureDatabase, migrate } from '@app/store';
import { OPEN_TASK_STATUSES } from '@app/navigation';

export const PG_BASE_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';

export interface TestDatabase {
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

/** A fresh, migrated database per test file: tests run in parallel without seeing each other's rows. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `sarcoma_test_${label.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
  const url = `${PG_BASE_URL}/${name}`;
  await ensureDatabase(url);
  await migrate(url);
  const pool = createPool(url, 10);
  return {
    url,
    pool,
    async drop() {
      await pool.end();
      const admin = new Client({ connectionString: `${PG_BASE_URL}/postgres` });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    },
  };
}

/**
 * Each member's open-task count as routing reads it (the triggers' folded count plus deltas, migration 007) next to a
 * count of their open tasks in the tasks table: the two must be equal, before and after the sweeper's fold.
 */
export async function memberOpenTaskCounts(
  pool: Pool,
): Promise<{ kept: Record<string, number>; counted: Record<string, number> }> {
  const { rows: kept } = await pool.query<{ member: string; n: number }>(
    `SELECT member_id AS member, sum(n)::int AS n FROM (
       SELECT member_id, open_tasks AS n FROM member_open_tasks
       UNION ALL SELECT member_id, delta FROM member_open_task_deltas) x
      GROUP BY member_id HAVING sum(n) <> 0`,
  );
  const { rows: counted } = await pool.query<{ member: string; n: number }>(
    // the statuses the service calls open, so a trigger that disagreed with them (task_is_open) would show here
    `SELECT assignee_id AS member, count(*)::int AS n FROM tasks
      WHERE assignee_id IS NOT NULL AND status = ANY($1::text[]) GROUP BY 1`,
    [OPEN_TASK_STATUSES],
  );
  const byMember = (rows: { member: string; n: number }[]) => Object.fromEntries(rows.map((r) => [r.member, r.n]));
  return { kept: byMember(kept), counted: byMember(counted) };
}
