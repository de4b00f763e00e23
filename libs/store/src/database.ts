import { Pool, type PoolClient, types } from 'pg';

// timestamptz as ISO strings, not Date objects: the pathway and the API speak ISO 8601.
types.setTypeParser(types.builtins.TIMESTAMPTZ, (value) => new Date(value).toISOString());
// bigint ids (seq, outbox ids) fit in a JS number for the lifetime of this service.
types.setTypeParser(types.builtins.INT8, (value) => Number(value));

export function createPool(databaseUrl: string, max = 20): Pool {
  const pool = new Pool({ connectionString: databaseUrl, max, application_name: 'sarcoma-pathway' });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Runs `work` on a client checked out of the pool, and gives it back. A connection lost while the client is checked
 * out and between two statements (a failover, a restart, pg_terminate_backend) is an 'error' event on the client, which
 * the pool only listens to while the client is idle: unheard, it would crash the process. Heard here: the next
 * statement fails, and the client is discarded rather than given back. `discard(err)` discards it too (a session
 * state that could not be undone, such as an advisory lock that failed to unlock).
 */
export async function withClient<T>(
  pool: Pool,
  work: (client: PoolClient, discard: (err: Error) => void) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const discard = (err: Error) => (lost ??= err);
  client.on('error', discard);
  try {
    return await work(client, discard);
  } finally {
    client.off('error', discard);
    client.release(lost);
  }
}

export function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}
