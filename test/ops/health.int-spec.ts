/**
 * Operator views: liveness touches nothing; readiness (terminus) checks PostgreSQL, the migrations, Redis and the
 * clinical-events queue, and answers 503 naming what is down: a migration the database lacks, a PostgreSQL that
 * hangs or cannot be reached, a Redis that hangs or is stopped. Recovery turns it back to 200 without a restart.
 */
import type { INestApplication } from '@nestjs/common';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { CLINICAL_EVENTS_QUEUE } from '@app/contracts';
import type { ServiceConfig } from '@app/config';
import { listMigrations } from '@app/store';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { CHECK_TIMEOUT_MS } from '../../apps/api/src/health/check-timeout';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { marginPositiveJourney } from '../support/events';
import { REDIS_URL, UpstreamPublisher, uniquePrefix, waitFor } from '../support/queues';
import { startOwnRedis } from '../support/redis-server';

const LATEST = listMigrations().at(-1) as string;
let db: TestDatabase;
let api: INestApplication;
let base: string;
let upstream: UpstreamPublisher;

async function startApi(config: Partial<ServiceConfig>): Promise<{ app: INestApplication; url: string }> {
  const app = await createApiApp({
    config: { DATABASE_URL: db.url, REDIS_URL, QUEUE_PREFIX: uniquePrefix('health'), LOG_LEVEL: 'error', ...config },
  });
  await app.listen(0, '127.0.0.1');
  return { app, url: await app.getUrl() };
}

beforeAll(async () => {
  db = await createTestDatabase('health');
  const prefix = uniquePrefix('health');
  upstream = new UpstreamPublisher(prefix);
  ({ app: api, url: base } = await startApi({ QUEUE_PREFIX: prefix }));
});
afterAll(async () => {
  await api.close();
  await upstream.destroy();
  await db.drop();
});

/** No API key: both routes are public. */
async function get(path: string, url = base) {
  const res = await fetch(`${url}${path}`);
  return { status: res.status, cacheControl: res.headers.get('cache-control'), body: (await res.json()) as any };
}

describe('liveness', () => {
  it('GET /health answers 200 without a key', async () => {
    expect(await get('/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });
});

describe('readiness', () => {
  it('is 200 with postgres, migrations, redis and queues up, and the clinical-events counts', async () => {
    // no worker consumes this prefix: the journey waits, the timer is delayed
    const journey = marginPositiveJourney('health', 'P-HEALTH-1');
    await upstream.publish(journey);
    await upstream.queue.add('later', {}, { delay: 60_000 });
    const ready = await get('/health/ready');
    const up = {
      postgres: { status: 'up' },
      migrations: { status: 'up', latest: LATEST },
      redis: { status: 'up' },
      queues: {
        status: 'up',
        [CLINICAL_EVENTS_QUEUE]: { waiting: journey.length, active: 0, delayed: 1, failed: 0 },
      },
    };
    expect(ready).toEqual({
      status: 200,
      cacheControl: 'no-cache, no-store, must-revalidate',
      body: { status: 'ok', info: up, error: {}, details: up },
    });
    // counts only: nothing of the jobs' content
    expect(JSON.stringify(ready.body)).not.toContain('P-HEALTH-1');
  });

  it('is 503 naming a migration the database lacks, and 200 again once it is there', async () => {
    await db.pool.query('DELETE FROM schema_migrations WHERE name = $1', [LATEST]);
    try {
      const ready = await get('/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({
        status: 'error',
        info: { postgres: { status: 'up' }, redis: { status: 'up' }, queues: { status: 'up' } },
        error: { migrations: { status: 'down', pending: [LATEST] } },
      });
      expect(Object.keys(ready.body.error)).toEqual(['migrations']);
    } finally {
      await db.pool.query('INSERT INTO schema_migrations (name) VALUES ($1)', [LATEST]);
    }
    expect((await get('/health/ready')).status).toBe(200);
  });

  it('gives up on a PostgreSQL query that hangs (a lock held on schema_migrations)', async () => {
    const locker = new Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const ready = await get('/health/ready');
      expect(Date.now() - started).toBeLessThan(CHECK_TIMEOUT_MS + 1000);
      expect(ready.status).toBe(503);
      expect(ready.body.error).toEqual({
        migrations: { status: 'down', message: `timed out after ${CHECK_TIMEOUT_MS} ms` },
      });
      expect(ready.body.info.postgres).toEqual({ status: 'up' });
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
  });

  it('is 503 with postgres and migrations down when PostgreSQL cannot be reached; liveness stays 200', async () => {
    // port 1: nothing listens, so connecting is refused at once
    const unreachable = await startApi({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/sarcoma_unreachable' });
    try {
      expect((await get('/health', unreachable.url)).status).toBe(200);
      const ready = await get('/health/ready', unreachable.url);
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({
        status: 'error',
        info: { redis: { status: 'up' }, queues: { status: 'up' } },
        error: {
          postgres: { status: 'down', message: 'connect ECONNREFUSED 127.0.0.1:1' },
          migrations: { status: 'down', message: 'connect ECONNREFUSED 127.0.0.1:1' },
        },
      });
    } finally {
      await unreachable.app.close();
    }
  });

  it('is 503 with redis and queues down when Redis hangs or stops, liveness stays 200, and recovers', async () => {
    const redis = await startOwnRedis();
    const own = await startApi({ REDIS_URL: redis.url });
    const queue = own.app.get<Queue>(getQueueToken(CLINICAL_EVENTS_QUEUE));
    let stopped = false;
    try {
      expect((await get('/health/ready', own.url)).status).toBe(200);

      // a Redis that does not answer: commands wait out the pause, the checks do not
      const admin = new Redis(redis.url);
      await admin.client('PAUSE', String(CHECK_TIMEOUT_MS + 700), 'ALL');
      admin.disconnect();
      const slow = await get('/health/ready', own.url);
      const timedOut = { status: 'down', message: `timed out after ${CHECK_TIMEOUT_MS} ms` };
      expect(slow.status).toBe(503);
      expect(slow.body.error).toEqual({ redis: timedOut, queues: timedOut });
      await waitFor(
        () => get('/health/ready', own.url),
        (r) => r.status === 200,
        { what: 'ready after the pause' },
      );

      await redis.stop();
      stopped = true;
      expect((await get('/health', own.url)).status).toBe(200);
      const down = await get('/health/ready', own.url);
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({
        status: 'error',
        info: { postgres: { status: 'up' }, migrations: { status: 'up' } },
        error: {
          redis: { status: 'down', message: expect.any(String) },
          queues: { status: 'down', message: expect.any(String) },
        },
      });
    } finally {
      // Redis comes back on its port before the api closes: BullMQ's QUIT fails while it is down (see the HL7
      // queue-down test), and readiness must turn 200 again without a restart.
      const back = stopped ? await startOwnRedis(redis.port) : redis;
      await waitFor(
        async () => (await queue.client).status,
        (status) => status === 'ready',
        { what: 'the producer reconnected', timeoutMs: 20_000 },
      );
      const recovered = await get('/health/ready', own.url);
      await own.app.close();
      await back.stop();
      expect(recovered.status).toBe(200);
    }
  });
});
