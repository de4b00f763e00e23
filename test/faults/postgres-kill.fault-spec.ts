/**
 * Fault: every PostgreSQL connection of the service is killed, again and again, mid-stream
 * (`pg_terminate_backend` on every backend of the test database: what a failover, a restart or a network cut does to
 * the pool). Statements in flight fail; the work is retried (by the event door, the job queue, the relay loop). No
 * event applied twice, no half-written patient (state, version, tasks, items and outbox are one statement), no email
 * twice. Restarting the PostgreSQL server itself would disturb every other test on this shared machine: connection
 * kills stand in for it (docs/reliability.md describes the manual server restart).
 */
import {
  compareWithReference,
  createFaultEnv,
  eventsInLog,
  FAULT_EVENTS,
  faultRandom,
  faultStream,
  faultSuite,
  figuresOf,
  killDatabaseConnections,
  ownRedis,
  recordFigures,
  settle,
  sleep,
  startFaultWorker,
  untilLogged,
} from '../support/faults';

const { events, cleanup, reference } = faultSuite({ events: faultStream() });

const KILLS = 10;

it(`PostgreSQL connections killed ${KILLS} times over the stream: all ${FAULT_EVENTS} events, nothing lost or twice`, async () => {
  const { seed, rnd } = faultRandom();
  const env = await createFaultEnv('pg_kill', await ownRedis(cleanup), cleanup);
  await env.publisher.publish(events);
  const started = Date.now();
  const worker = await startFaultWorker(env, cleanup);

  // ten moments over the stream, as fractions of it committed, at random between 5 % and 90 %
  const marks = Array.from({ length: KILLS }, () => 0.05 + rnd.next() * 0.85).sort((a, b) => a - b);
  const kills: { atLogged: number; backends: number; resumeMs: number }[] = [];
  for (const mark of marks) {
    await untilLogged(env.db.pool, Math.floor(mark * events.length));
    await sleep(rnd.int(0, 300));
    const atLogged = await eventsInLog(env.db.pool);
    if (atLogged >= events.length) break; // the stream is through: nothing left to break
    const backends = await killDatabaseConnections(env.db);
    const killedAt = Date.now();
    await untilLogged(env.db.pool, atLogged + 1, 120_000);
    kills.push({ atLogged, backends, resumeMs: Date.now() - killedAt });
  }

  await settle(env, events.length);
  const seconds = (Date.now() - started) / 1000;
  const verdict = await compareWithReference(env, reference());
  await worker.close();
  recordFigures(
    figuresOf('PostgreSQL connections killed (pg_terminate_backend)', verdict, {
      events: events.length,
      injected: kills.length,
      survived: kills.length,
      emails: env.sink.total,
      emailsResent: verdict.emails.resent,
      recoverMs: Math.max(...kills.map((k) => k.resumeMs)),
      seconds,
      notes: `seed ${seed}; ${kills.map((k) => `${k.backends} backends at ${k.atLogged}`).join(', ')}; worker errors logged: ${worker.logs.errors}, warnings: ${worker.logs.warnings}`,
    }),
  );
  expect(kills.length).toBeGreaterThanOrEqual(3);
  expect(kills.every((k) => k.backends > 0)).toBe(true);
  expect({
    lost: verdict.lost,
    duplicated: verdict.duplicated,
    changed: verdict.changed,
    examples: verdict.examples,
  }).toEqual({ lost: 0, duplicated: 0, changed: 0, examples: [] });
});
