/**
 * Fault: Redis crashes mid-stream (SIGKILL: no chance to save anything more) and comes back on the same port with
 * what its append-only file holds. Configured as production should be (`appendonly yes`, `appendfsync always`), it
 * has everything it acknowledged: the queued events, the jobs in flight, the escalation timers. The worker reconnects
 * by itself. Compared with the clean run: no event lost, nothing twice, every timer still waiting.
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
  recordFigures,
  settle,
  sleep,
  startFaultWorker,
  untilLogged,
} from '../support/faults';
import { startDurableRedis } from '../support/redis-durable';

const { events, cleanup, reference } = faultSuite({ events: faultStream() });

it(`Redis killed mid-stream and restarted from its AOF: all ${FAULT_EVENTS} events, nothing lost or twice`, async () => {
  const { seed, rnd } = faultRandom();
  const redis = await startDurableRedis();
  cleanup.add('durable redis-server', () => redis.destroy());
  const env = await createFaultEnv('redis_restart', redis.url, cleanup);
  await env.publisher.publish(events);
  const started = Date.now();
  const worker = await startFaultWorker(env, cleanup);

  await untilLogged(env.db.pool, Math.floor((0.2 + rnd.next() * 0.4) * events.length));
  const atLogged = await eventsInLog(env.db.pool);
  await redis.kill('SIGKILL');
  const downMs = 1000 + rnd.int(0, 2000);
  await sleep(downMs);
  // nothing can be acknowledged while Redis is down, and what was in flight is committed (or not) in PostgreSQL only
  const loggedWhileDown = (await eventsInLog(env.db.pool)) - atLogged;
  await redis.start();
  const back = Date.now();
  const atRestart = await eventsInLog(env.db.pool);
  await untilLogged(env.db.pool, atRestart + 1, 120_000);
  const recoverMs = Date.now() - back;

  await settle(env, events.length);
  const seconds = (Date.now() - started) / 1000;
  const verdict = await compareWithReference(env, reference());
  await worker.close();
  recordFigures(
    figuresOf('Redis SIGKILL + restart (AOF, appendfsync always)', verdict, {
      events: events.length,
      injected: 1,
      survived: verdict.lost === 0 ? 1 : 0,
      emails: env.sink.total,
      emailsResent: verdict.emails.resent,
      recoverMs,
      seconds,
      notes: `seed ${seed}; killed at ${atLogged} events logged, down ${downMs} ms (${loggedWhileDown} in-flight events committed meanwhile); worker errors logged: ${worker.logs.errors}`,
    }),
  );
  expect({
    lost: verdict.lost,
    duplicated: verdict.duplicated,
    changed: verdict.changed,
    examples: verdict.examples,
  }).toEqual({ lost: 0, duplicated: 0, changed: 0, examples: [] });
  // the timers survived the crash: the comparison checked each escalation timer the tasks call for is still waiting
  expect(verdict.timers).toMatchObject({ lost: 0, extra: 0 });
});
