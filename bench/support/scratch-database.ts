import { Client } from 'pg';
import { createPool, ensureDatabase, migrate } from '@app/store';
import type { Pool } from 'pg';
import { PG_BASE_URL } from './bench-env';

/** The URL of a scratch database beside the others (BENCH_PG_URL). */
export function databaseUrl(name: string): string {
  return `${PG_BASE_URL}/${name}`;
}

async function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: `${PG_BASE_URL}/postgres` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function quoted(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a scratch database name: ${name}`);
  return `"${name}"`;
}

export async function databaseExists(name: string): Promise<boolean> {
  return admin(async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);
}

export async function dropDatabase(name: string): Promise<void> {
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${quoted(name)} WITH (FORCE)`));
}

/** A copy of `template` (file copy: seconds, not a rebuild); `name` is dropped first. */
export async function copyDatabase(template: string, name: string): Promise<void> {
  await dropDatabase(name);
  await admin((c) => c.query(`CREATE DATABASE ${quoted(name)} TEMPLATE ${quoted(template)} STRATEGY FILE_COPY`));
}

/** Creates the database if needed (dropped first when `fresh`), applies every migration, and opens a pool. */
export async function openScratchDatabase(
  name: string,
  options: { fresh?: boolean; poolSize?: number } = {},
): Promise<{ url: string; pool: Pool; migrationsApplied: string[] }> {
  if (options.fresh) await dropDatabase(name);
  const url = databaseUrl(name);
  await ensureDatabase(url);
  const { applied } = await migrate(url);
  return { url, pool: createPool(url, options.poolSize ?? 4), migrationsApplied: applied };
}
