/**
 * The service on Redis Sentinel (one primary, one replica, three sentinels on local ports), through a failover:
 * events stream in from an upstream that counts an event as delivered only when Redis accepted it and the replica
 * has it (WAIT), and resends anything else; mid-stream the primary is SIGKILLed. The sentinels promote the replica,
 * the worker and the api (REDIS_URL=redis+sentinel://...) follow it, the dead server comes back as a replica, and
 * every event is in clinical_events exactly once, its tasks routed and emailed. Measured and printed: how long the
 * switch took, how long publishing, the worker and the api's readiness were interrupted, what was resent, and which
 * writes the old primary had accepted that the new one never got (asynchronous replication): only unconfirmed ones
 * may be among them.
 *
 * The long version (2,000 patients, five failovers): test/scale/long-run.sh; figures in docs/scale-out.md.
 */
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { CLINICAL_EVENTS_QUEUE, NOTIFICATIONS_QUEUE, TIMERS_QUEUE } from '@app/contracts';
import { FakeClock } from '@app/store';
import { TimersProcessor } from '../../apps/worker/src/timers/timers.processor';
import { seedDemoTeams, startApi } from '../support/api';
import { marginPositiveJourney } from '../support/events';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { uniquePrefix, waitFor } from '../support/queues';
import { startRedisSentinel, type OwnRedisSentinel } from '../support/redis-sentinel';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { startWorker } from '../support/worker';
import { ConfirmingPublisher } from './confirming-publisher';
import {
  expectLoggedOnce,
  expectRoutedAndEmailed,
  JOURNEY_TASKS,
  marginPositiveCohort,
  settled,
  tasksSettled,
} from './end-to-end';

const PATIENTS = Number(process.env.SCALE_SENTINEL_PATIENTS ?? 120);
const KILLS = Number(process.env.SCALE_SENTINEL_KILLS ?? 1);
/** Publishers sending at once, and the pause each makes between two events. */
const LANES = Number(process.env.SCALE_SENTINEL_LANES ?? 3);
const PACE_MS = Number(process.env.SCALE_SENTINEL_PACE_MS ?? 60);
const STREAM_TIMEOUT_MS = Math.max(60_000, PATIENTS * 200);
jest.setTimeout(STREAM_TIMEOUT_MS + 60_000);

const prefix = uniquePrefix('sentinel');
const clock = new FakeClock(new Date('2025-02-11T08:00:00Z'));
let sentinel: OwnRedisSentinel;
let db: TestDatabase;
let smtp: TestSmtpServer;
let worker: INestApplicationContext;
let api: { app: INestApplication; base: string };
let publisher: ConfirmingPublisher;
const config = () => ({ REDIS_URL: sentinel.url, SMTP_URL: smtp.url });

beforeAll(async () => {
  [sentinel, db, smtp] = await Promise.all([startRedisSentinel(), createTestDatabase('sentinel'), startSmtpServer()]);
  await seedDemoTeams(db.pool);
  worker = await startWorker({ databaseUrl: db.url, prefix, clock, config: config() });
  api = await startApi({ databaseUrl: db.url, prefix, clock, config: config() });
  publisher = new ConfirmingPublisher(prefix, sentinel.url);
}, 60_000);

afterAll(async () => {
  // each step runs even if one before it failed, so no redis-server outlives the file
  const steps = [
    () => publisher?.close(),
    () => api?.app.close(),
    () => worker?.close(),
    () => sentinel?.stop(),
    () => smtp?.close(),
    () => db?.drop(),
  ];
  const errors: unknown[] = [];
  for (const step of steps) await Promise.resolve(step()).catch((err: unknown) => errors.push(err));
  if (errors.length > 0) throw errors[0];
});

interface Failover {
  killedPort: number;
  newPort: number;
  /** From the SIGKILL until the sentinels name the new primary. */
  switchMs: number;
  /** Until the api's /health/ready answers 200 again (its producer connection follows the new primary). */
  apiReadyMs: number;
  /** Until the killed server, restarted, is a replica in sync (WAIT can be satisfied again). */
  replicaBackMs: number;
  /** Events the old primary had accepted and not yet confirmed (WAIT) when it died. */
  unconfirmedAtKill: string[];
  /** Events the old primary had accepted that the new primary did not have: lost by asynchronous replication. */
  lost: string[];
  killedAt: number;
}

/** Waits until these events are all in the event log. */
async function logged(eventIds: string[]): Promise<void> {
  await waitFor(
    async () =>
      (
        await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM clinical_events WHERE event_id = ANY($1)', [
          eventIds,
        ])
      ).rows[0].n,
    (n) => n === eventIds.length,
    { timeoutMs: STREAM_TIMEOUT_MS, intervalMs: 100, what: `${eventIds.length} events logged` },
  );
}

/** What an unsettled task's emails are waiting for: the queues' counts, the outbox, the rows. */
async function diagnose(rows: Awaited<ReturnType<typeof tasksSettled>>) {
  const stuck = rows.filter((t) => !settled(t));
  const notifications = worker.get<Queue>(getQueueToken(NOTIFICATIONS_QUEUE));
  const timers = worker.get<Queue>(getQueueToken(TIMERS_QUEUE));
  const outbox = await db.pool.query('SELECT event_id, jobs FROM outbox');
  return {
    stuck: stuck.slice(0, 5),
    notifications: await notifications.getJobCounts('active', 'waiting', 'delayed', 'failed', 'completed'),
    timers: await timers.getJobCounts('active', 'waiting', 'delayed', 'failed', 'completed'),
    outbox: outbox.rows.slice(0, 5),
  };
}

async function readiness(): Promise<number> {
  return fetch(`${api.base}/health/ready`).then(
    (r) => r.status,
    () => 0,
  );
}

/** Kills the primary, waits for the sentinels' choice, compares what the new primary has, restarts the dead one. */
async function failover(): Promise<Failover> {
  const { port: killedPort, at: killedAt } = await sentinel.killPrimary();
  const { port: newPort, ms: switchMs } = await sentinel.waitForNewPrimary(killedPort, killedAt);

  // BullMQ stamps a job with the time it was added (client side): on the new primary, a job missing, or stamped after
  // the kill (the publisher already added it again), is a write the old primary accepted and took with it
  const acceptedBefore = [...publisher.events].filter(([, e]) => e.acceptedAt !== undefined && e.acceptedAt < killedAt);
  const unconfirmedAtKill = acceptedBefore
    .filter(([, e]) => e.confirmedAt === undefined || e.confirmedAt >= killedAt)
    .map(([id]) => id);
  const stamps = await Promise.all(
    acceptedBefore.map(([id]) =>
      sentinel.server(newPort).hget(`${prefix}:${CLINICAL_EVENTS_QUEUE}:${id}`, 'timestamp'),
    ),
  );
  const lost = acceptedBefore.filter((_, i) => stamps[i] === null || Number(stamps[i]) >= killedAt).map(([id]) => id);

  await waitFor(readiness, (status) => status === 200, { timeoutMs: 20_000, intervalMs: 100, what: 'the api ready' });
  const apiReadyMs = Date.now() - killedAt;
  // a supervisor restarts the dead server (empty: no persistence here); it rejoins as the new primary's replica
  await sentinel.restart(killedPort);
  const replicaBackMs = Date.now() - killedAt;
  return { killedPort, newPort, switchMs, apiReadyMs, replicaBackMs, unconfirmedAtKill, lost, killedAt };
}

describe('the service on Redis Sentinel, through a failover', () => {
  it('follows the new primary: every confirmed event is in PostgreSQL once, its tasks routed and emailed', async () => {
    expect(await sentinel.primaryPort()).toBe(sentinel.serverPorts[0]);
    expect(await readiness()).toBe(200);
    const journeys = marginPositiveCohort('sn', PATIENTS);
    const total = PATIENTS * JOURNEY_TASKS.length;
    const killAfter = Array.from({ length: KILLS }, (_, k) => Math.floor((total * (k + 1)) / (KILLS + 1)));
    const failovers: Failover[] = [];
    let chaos = Promise.resolve();
    let sent = 0;
    const started = Date.now();
    // one clinical step at a time, as they happen (days apart): a patient's next event goes out once the previous
    // one is in the log, so no event overtakes another of its patient (that case is the late-arrival path's own)
    for (let step = 0; step < journeys[0].length; step++) {
      let next = 0;
      const lane = async () => {
        for (let i = next++; i < journeys.length; i = next++) {
          if (killAfter.includes(sent++)) chaos = chaos.then(async () => void failovers.push(await failover()));
          await publisher.deliver([journeys[i][step]], STREAM_TIMEOUT_MS);
          await new Promise((r) => setTimeout(r, PACE_MS));
        }
      };
      await Promise.all(Array.from({ length: LANES }, lane));
      await logged(journeys.map((j) => j[step].eventId));
    }
    await chaos;
    const streamMs = Date.now() - started;

    // the service followed: the primary changed and everything published before, during and after is applied once
    expect(failovers.map((f) => f.newPort !== f.killedPort)).toEqual(killAfter.map(() => true));
    const events = journeys.flat().map((e) => e.eventId);
    expect([...publisher.events.values()].every((e) => e.confirmedAt !== undefined)).toBe(true);
    await expectLoggedOnce(db.pool, events);
    // confirmed writes survive a failover: whatever the new primary lacked had not been confirmed
    for (const f of failovers) expect(f.lost.filter((id) => !f.unconfirmedAtKill.includes(id))).toEqual([]);

    // the worker resumed: the first event first sent after each kill, applied how long after the kill
    const received = new Map(
      (
        await db.pool.query<{ event_id: string; at: number }>(
          'SELECT event_id, (extract(epoch FROM received_at) * 1000)::float8 AS at FROM clinical_events',
        )
      ).rows.map((r) => [r.event_id, r.at]),
    );
    const report = failovers.map((f) => {
      const sentAfter = [...publisher.events]
        .filter(([, e]) => e.sentAt >= f.killedAt)
        .map(([id]) => received.get(id)!);
      const firstAfter = (times: number[]) => Math.min(...times.filter((t) => t >= f.killedAt)) - f.killedAt;
      return {
        switchMs: f.switchMs,
        publishAcceptedMs: firstAfter(publisher.accepted),
        workerAppliedMs: Math.round(firstAfter(sentAfter)),
        apiReadyMs: f.apiReadyMs,
        replicaBackMs: f.replicaBackMs,
        publishConfirmedMs: firstAfter(publisher.confirmed),
        unconfirmedAtKill: f.unconfirmedAtKill.length,
        lostWrites: f.lost.length,
      };
    });
    for (const r of report) expect(r.workerAppliedMs).toBeLessThan(20_000);
    // jobs the old primary handed out whose completion it took with it wait as `active` for BullMQ's stalled check
    // (30-60 s), then run again and find their event logged: counted, not waited for
    const jobs = await publisher.queue.getJobCounts('active', 'waiting', 'failed', 'completed');
    console.log(
      `sentinel failover (${PATIENTS} patients, ${events.length} events, ${LANES} lanes, ${streamMs} ms):\n` +
        JSON.stringify({ failovers: report, publisher: publisher.stats, jobs }, null, 1),
    );

    // tasks and emails: a tasks-created or deliver job the old primary took with it (or left active, to be found
    // stalled 30-60 s later) is redone by the sweeper once its grace has passed (DESIGN invariant 6)
    const patients = journeys.map((j) => j[0].patientId);
    let rows = await tasksSettled(db.pool, patients);
    const beforeSweep = rows.filter(settled).length;
    if (beforeSweep < patients.length * JOURNEY_TASKS.length) {
      clock.advance(2 * 60_000);
      await worker.get(TimersProcessor).sweep();
      rows = await tasksSettled(db.pool, patients);
    }
    const afterSweep = rows.filter(settled).length;
    console.log(
      `tasks routed and emailed: ${beforeSweep} by the normal path, ${afterSweep - beforeSweep} by the sweeper`,
    );
    if (afterSweep < patients.length * JOURNEY_TASKS.length)
      console.log('not settled:', JSON.stringify(await diagnose(rows), null, 1));
    expectRoutedAndEmailed(rows, patients, smtp);
  });

  it('REDIS_WAIT_REPLICAS=1: the api says 202 only once the replica has the event, and 503 while it cannot', async () => {
    const waiting = await startApi({
      databaseUrl: db.url,
      prefix,
      clock,
      config: { ...config(), REDIS_WAIT_REPLICAS: 1 },
    });
    try {
      const primary = await sentinel.primaryPort();
      const replica = sentinel.server(sentinel.serverPorts.find((p) => p !== primary)!);
      const post = (event: unknown) =>
        fetch(`${waiting.base}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer demo-integration-key' },
          body: JSON.stringify(event),
        });
      const [first, second] = marginPositiveJourney('sn-wait', 'P-sn-wait');
      const jobKey = (eventId: string) => `${prefix}:${CLINICAL_EVENTS_QUEUE}:${eventId}`;

      // acknowledged: the replica already has the job (the answer waited for it)
      expect((await post(first)).status).toBe(202);
      expect(await replica.exists(jobKey(first.eventId))).toBe(1);

      // the replica frozen (SIGSTOP): the primary takes the event but no replica confirms it in time, so no 202
      const primaryPid = Number(/process_id:(\d+)/.exec(await sentinel.server(primary).info('server'))![1]);
      const frozenPid = Number(/process_id:(\d+)/.exec(await replica.info('server'))![1]);
      expect(frozenPid).not.toBe(primaryPid);
      process.kill(frozenPid, 'SIGSTOP');
      let refused: Response;
      try {
        refused = await post(second);
      } finally {
        process.kill(frozenPid, 'SIGCONT');
      }
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { message: string }).message).toMatch(/resend of the same event is safe/);

      // the sender resends it, as told: accepted, and applied once
      expect((await post(second)).status).toBe(202);
      await logged([first.eventId, second.eventId]);
      // once each: the event id is the log's key and the job's id
      const { rows } = await db.pool.query<{ event_id: string }>(
        'SELECT event_id FROM clinical_events WHERE event_id = ANY($1) ORDER BY event_id',
        [[first.eventId, second.eventId]],
      );
      expect(rows.map((r) => r.event_id)).toEqual([first.eventId, second.eventId].sort());
    } finally {
      await waiting.app.close();
    }
  });
});
