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

export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A connection lost while the client is checked out and between two statements (a failover, a restart,
  // pg_terminate_backend) is an 'error' event on the client, which the pool only listens to while the client is idle:
  // unheard, it would crash the process. Heard here: the next statement fails, and the client is discarded.
  let lost: Error | undefined;
  const onLost = (err: Error) => (lost ??= err);
  client.on('error', onLost);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.off('error', onLost);
    client.release(lost);
  }
}
