import { randomBytes } from 'node:crypto';
import { Client, type Pool } from 'pg';
import { createPool, ensureDatabase, migrate } from '@app/store';

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
