/**
 * The service on a Redis Cluster (three masters on local ports, redis-server --cluster-enabled yes) with a {hash-tag}
 * QUEUE_PREFIX: two worker processes (one in this process, one spawned as deployed) and the api connect with
 * REDIS_URL=redis+cluster://..., and the normal path holds: events published to the clinical-events queue are applied
 * once, tasks opened, routed and emailed over SMTP, a duplicate ignored, the api publishes and is ready. All of the
 * queues' keys sit in the hash tag's one slot: a cluster is something the service runs on, not a way to spread it.
 */
import { getQueueToken } from '@nestjs/bullmq';
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { CLINICAL_EVENTS_QUEUE } from '@app/contracts';
import { seedDemoTeams, startApi } from '../support/api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { marginPositiveJourney } from '../support/events';
import { eventsLogged, UpstreamPublisher, uniquePrefix, waitFor } from '../support/queues';
import { startRedisCluster, type OwnRedisCluster } from '../support/redis-cluster';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { spawnWorkerProcess, startWorker } from '../support/worker';
import {
  expectLoggedOnce,
  expectRoutedAndEmailed,
  JOURNEY_TASKS,
  marginPositiveCohort,
  tasksSettled,
} from './end-to-end';

/** Patients in the stream (3 events, 3 tasks and 3 emails each); the long version: test/scale/long-run.sh. */
const PATIENTS = Number(process.env.SCALE_CLUSTER_PATIENTS ?? 30);
jest.setTimeout(Math.max(60_000, PATIENTS * 300));
const prefix = `{${uniquePrefix('cluster')}}`;
let cluster: OwnRedisCluster;
let db: TestDatabase;
let smtp: TestSmtpServer;
let worker: INestApplicationContext;
let spawned: ReturnType<typeof spawnWorkerProcess>;
let api: { app: INestApplication; base: string };
let upstream: UpstreamPublisher;
const published: string[] = [];

beforeAll(async () => {
  [cluster, db, smtp] = await Promise.all([startRedisCluster(3), createTestDatabase('cluster'), startSmtpServer()]);
  await seedDemoTeams(db.pool);
  const config = { REDIS_URL: cluster.url, SMTP_URL: smtp.url };
  spawned = spawnWorkerProcess({
    databaseUrl: db.url,
    prefix,
    concurrency: 4,
    config: { ...config, LOG_LEVEL: 'log' },
    quiet: true,
  });
  worker = await startWorker({ databaseUrl: db.url, prefix, concurrency: 4, config });
  api = await startApi({ databaseUrl: db.url, prefix, config });
  upstream = new UpstreamPublisher(prefix, cluster.url);
  await waitFor(
    async () => spawned.output(),
    (out) => out.includes('consuming') || spawned.child.exitCode !== null,
    { timeoutMs: 40_000, intervalMs: 200, what: 'the spawned worker to consume' },
  );
  expect(spawned.output()).toContain('consuming');
}, 60_000);

afterAll(async () => {
  // each step runs even if one before it failed, so no redis-server outlives the file
  const steps = [
    () => spawned?.stop(),
    () => api?.app.close(),
    () => worker?.close(),
    () => upstream?.destroy(),
    () => cluster?.stop(),
    () => smtp?.close(),
    () => db?.drop(),
  ];
  const errors: unknown[] = [];
  for (const step of steps) await Promise.resolve(step()).catch((err: unknown) => errors.push(err));
  if (errors.length > 0) throw errors[0];
});

describe('the service on a three-master Redis Cluster', () => {
  it('applies every published event once, opens, routes and emails the tasks; both workers take a share', async () => {
    const started = Date.now();
    const journeys = marginPositiveCohort('cl', PATIENTS);
    const events = journeys.flat();
    // step by step, as they happen (days apart): two workers may otherwise take one patient's back-to-back events
    // at once and apply them out of order (a late arrival, with its data-quality review: docs/architecture.md)
    for (let step = 0; step < journeys[0].length; step++) {
      const batch = journeys.map((j) => j[step]);
      await upstream.publish(batch);
      published.push(...batch.map((e) => e.eventId));
      await eventsLogged(
        db.pool,
        batch.map((e) => e.eventId),
      );
    }
    await expectLoggedOnce(db.pool, published);
    const patients = journeys.map((j) => j[0].patientId);
    expectRoutedAndEmailed(await tasksSettled(db.pool, patients), patients, smtp);

    const { rows } = await db.pool.query<{ applied_by: string; n: number }>(
      'SELECT applied_by, count(*)::int AS n FROM clinical_events WHERE event_id = ANY($1) GROUP BY applied_by',
      [events.map((e) => e.eventId)],
    );
    expect(rows.map((r) => r.applied_by.split(':').at(-1)).sort()).toEqual(
      [String(process.pid), String(spawned.child.pid)].sort(),
    );
    console.log(
      `redis cluster: ${events.length} events applied, ${patients.length * JOURNEY_TASKS.length} tasks routed and emailed in ` +
        `${Date.now() - started} ms; ` +
        `events per worker: ${rows.map((r) => r.n).join(' + ')}`,
    );
  });

  it('ignores a duplicate: again while BullMQ keeps the job id, and again after it forgot it (the event log)', async () => {
    const [registered] = marginPositiveCohort('cl', 1)[0];
    const counts = () => upstream.queue.getJobCountByTypes('completed', 'waiting', 'active', 'failed');
    const jobsBefore = await counts();
    const mailsBefore = smtp.messages.length;
    await upstream.publish([registered]);
    expect(await counts()).toBe(jobsBefore);

    await (await upstream.queue.getJob(registered.eventId))!.remove();
    await upstream.publish([registered]);
    const again = await waitFor(
      () => upstream.queue.getJob(registered.eventId),
      (job) => job?.finishedOn !== undefined,
      { what: 'the redelivery to finish' },
    );
    expect(again?.returnvalue).toEqual({ status: 'duplicate' });
    await expectLoggedOnce(db.pool, published);
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.messages.length).toBe(mailsBefore);
  });

  it('the api publishes onto the cluster and is ready, with Redis up', async () => {
    // polled: on a loaded machine one check can overrun its timeout (the body says which)
    const ready = await waitFor(
      async () => {
        const res = await fetch(`${api.base}/health/ready`);
        return { status: res.status, body: (await res.json()) as any };
      },
      (r) => r.status === 200,
      { timeoutMs: 10_000, intervalMs: 500, what: 'the api ready' },
    );
    expect(ready.body.details.redis).toEqual({ status: 'up' });

    const journey = marginPositiveJourney('cl-api', 'P-cl-api');
    for (const event of journey) {
      const res = await fetch(`${api.base}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer demo-integration-key' },
        body: JSON.stringify(event),
      });
      expect(res.status).toBe(202);
      published.push(event.eventId);
      await eventsLogged(db.pool, [event.eventId]); // one clinical step at a time, as in the first test
    }
    await expectLoggedOnce(db.pool, published);
    expectRoutedAndEmailed(await tasksSettled(db.pool, ['P-cl-api']), ['P-cl-api'], smtp);
  });

  it("keeps every queue key in the hash tag's slot, on one master, and nothing on the others", async () => {
    const owner = await cluster.masterOf(prefix);
    const counts = new Map<number, number>();
    for (const port of cluster.ports) counts.set(port, (await cluster.node(port).keys(`${prefix}:*`)).length);
    expect(counts.get(owner)).toBeGreaterThan(PATIENTS * 3);
    expect([...counts].filter(([port, n]) => port !== owner && n > 0)).toEqual([]);
    // the api's and the worker's queues really are the cluster's: the worker's queue client is an ioredis Cluster
    const queue = worker.get<Queue>(getQueueToken(CLINICAL_EVENTS_QUEUE));
    expect(((await queue.client) as unknown as { isCluster: boolean }).isCluster).toBe(true);
  });
});
