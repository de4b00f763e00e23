/**
 * Fault: Redis loses everything mid-stream (FLUSHALL: as a Redis without persistence that restarts, or a failover to
 * an empty replica). DESIGN invariant 6: Redis may forget, PostgreSQL may not.
 *
 * What is gone, and who brings it back:
 * - events published but not yet consumed: only the publisher has them. It must resend every event it cannot see in
 *   the event log (by eventId: the job id is the event id, and the event door applies an event once, so resending
 *   one that was committed meanwhile is harmless). The test does exactly that.
 * - everything already committed to PostgreSQL still happens, because the sweeper re-derives it from PostgreSQL:
 *   tasks whose tasks-created job was lost are routed and emailed, emails whose delivery job was lost are sent,
 *   escalation timers that were lost fire as escalations when they are due. The sweeper itself is a job scheduler in
 *   Redis, so it must come back by itself too. The test moves the worker's clock on 49 hours and waits for it.
 */
import type { Pool } from 'pg';
import {
  compareWithReference,
  createFaultEnv,
  eventsInLog,
  FAULT_EVENTS,
  FAULT_CLOCK_AT,
  faultRandom,
  faultStream,
  faultSuite,
  figuresOf,
  recordFigures,
  settle,
  sleep,
  startFaultWorker,
  tolerantQuery,
  untilLogged,
} from '../support/faults';
import { startOwnRedis } from '../support/redis-server';
import { OPEN_TASK_STATUSES } from '@app/navigation';

const { events, cleanup, reference } = faultSuite({ events: faultStream() });

// the statuses the service calls open
const OPEN = `(${OPEN_TASK_STATUSES.map((s) => `'${s}'`).join(', ')})`;

/** What the sweeper still has to do once the clock has moved on: escalations due, tasks nobody routed. */
async function sweeperBacklog(pool: Pool) {
  const [row] = await tolerantQuery<{ escalations: number; unrouted: number }>(
    pool,
    `SELECT (SELECT count(*)::int FROM tasks WHERE escalate AND status IN ${OPEN} AND accepted_at IS NULL
                                                 AND escalation_level < 2) AS escalations,
            (SELECT count(*)::int FROM tasks WHERE status = 'requested' AND assignee_id IS NULL) AS unrouted`,
  );
  return row;
}

it(`Redis emptied mid-stream: the publisher resends what is not in the log; everything committed still happens (${FAULT_EVENTS} events)`, async () => {
  const { seed, rnd } = faultRandom();
  const redis = await startOwnRedis();
  cleanup.add('redis-server', () => redis.stop());
  const env = await createFaultEnv('redis_flush', redis.url, cleanup);
  await env.publisher.publish(events);
  const started = Date.now();
  // the sweeper every 2 s (production: 5 min), so the test sees it come back by itself
  const worker = await startFaultWorker(env, cleanup, { config: { SWEEP_EVERY_MS: 2000 } });

  await untilLogged(env.db.pool, Math.floor((0.2 + rnd.next() * 0.4) * events.length));
  const atFlush = await eventsInLog(env.db.pool);
  await redis.flushAll();
  const flushedAt = Date.now();
  await sleep(200);

  // the publisher's side: resend, by event id and in the original order, every event the log does not have
  const logged = new Set(
    (
      await tolerantQuery<{ event_id: string }>(
        env.db.pool,
        'SELECT event_id FROM clinical_events WHERE event_id = ANY($1)',
        [events.map((e) => e.eventId)],
      )
    ).map((r) => r.event_id),
  );
  const missing = events.filter((e) => !logged.has(e.eventId));
  await env.publisher.publish(missing);
  await untilLogged(env.db.pool, logged.size + 1, 120_000);
  const recoverMs = Date.now() - flushedAt;
  await settle(env, events.length);
  const before = await sweeperBacklog(env.db.pool);

  // Two days later (the worker's clock; the sweeper's scheduler runs on real time): every escalation step due, every
  // task routed, every email sent, by the sweeper alone.
  worker.clock.advance(49 * 3_600_000);
  const sweepStarted = Date.now();
  for (;;) {
    const left = await sweeperBacklog(env.db.pool);
    if (left.escalations === 0 && left.unrouted === 0) break;
    if (Date.now() - sweepStarted > 60_000)
      throw new Error(`the sweeper did not re-derive what Redis lost within 60 s: ${JSON.stringify(left)} left`);
    await sleep(250);
  }
  await settle(env, events.length);
  const sweepSeconds = (Date.now() - sweepStarted) / 1000;
  const seconds = (Date.now() - started) / 1000;

  const verdict = await compareWithReference(env, reference(), { timers: 'none', ignoreEscalation: true });

  // each escalating task still open went to its own team's navigator lead, then clinical lead, and its assignee:
  // each email once
  const escalations = await tolerantQuery<{
    task: string;
    team: string | null;
    assignee: string | null;
    id: string;
    member: string;
    member_team: string;
    role: string;
    status: string;
  }>(
    env.db.pool,
    `SELECT t.id AS task, t.team_code AS team, t.assignee_id AS assignee, n.id, n.member_id AS member,
            m.team_code AS member_team, m.role, n.status
       FROM tasks t JOIN notifications n ON n.task_id = t.id AND n.kind = 'task-escalated'
       JOIN team_members m ON m.id = n.member_id
      WHERE t.escalate AND t.status IN ${OPEN}`,
  );
  const escalated = await tolerantQuery<{ id: string; team: string; assignee: string }>(
    env.db.pool,
    `SELECT id, team_code AS team, assignee_id AS assignee FROM tasks WHERE escalate AND status IN ${OPEN}`,
  );
  const wrong: string[] = [];
  for (const task of escalated) {
    const mine = escalations.filter((e) => e.task === task.id);
    for (const [level, lead] of [
      [1, 'navigator-lead'],
      [2, 'clinical-lead'],
    ] as const) {
      const step = mine.filter((e) => e.id.startsWith(`escalated.${task.id}.${level}.`));
      if (!step.some((e) => e.role === lead && e.member_team === task.team))
        wrong.push(`${task.id}: ${lead} of ${task.team} not told (${step.map((e) => `${e.role}@${e.member_team}`)})`);
      if (!step.some((e) => e.member === task.assignee)) wrong.push(`${task.id}: assignee not told at step ${level}`);
    }
    for (const e of mine)
      if (e.status !== 'sent' || env.sink.received.get(e.id) !== 1)
        wrong.push(`${e.id}: ${e.status}, received ${env.sink.received.get(e.id) ?? 0} times`);
  }
  await worker.close();

  // care-team alerts (R-LR-ESCALATE step 3, R-DM) whose job Redis lost, asked for again by the sweeper: written after
  // the clock moved on
  const [rederived] = await tolerantQuery<{ n: number }>(
    env.db.pool,
    `SELECT count(*)::int AS n FROM notifications WHERE kind = 'care-team-alert' AND created_at > $1`,
    [FAULT_CLOCK_AT],
  );

  recordFigures(
    figuresOf('Redis FLUSHALL mid-stream, publisher resends', verdict, {
      events: events.length,
      injected: 1,
      survived: verdict.lost === 0 && wrong.length === 0 ? 1 : 0,
      emails: env.sink.total,
      emailsResent: verdict.emails.resent,
      recoverMs,
      seconds,
      notes: `seed ${seed}; flushed at ${atFlush} events logged; resent ${missing.length} events not in the log; after the flush ${before.unrouted} tasks unrouted (their tasks-created job lost), ${escalated.length} escalating tasks open; with the clock 49 h on, the sweeper routed and escalated all in ${sweepSeconds} s; ${rederived.n} care-team alert emails whose job Redis lost re-derived; escalation problems: ${wrong.length}`,
    }),
  );
  expect({
    lost: verdict.lost,
    duplicated: verdict.duplicated,
    changed: verdict.changed,
    examples: verdict.examples,
  }).toEqual({ lost: 0, duplicated: 0, changed: 0, examples: [] });
  expect(wrong.slice(0, 10)).toEqual([]);
  expect(escalated.length).toBeGreaterThan(0);
});
