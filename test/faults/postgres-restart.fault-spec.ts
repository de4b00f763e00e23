/**
 * Fault: the PostgreSQL server itself goes down mid-stream and comes back, three times: once crashed
 * (`pg_ctl stop -m immediate`: backends killed, no checkpoint; the next start replays the WAL), once stopped cleanly
 * (`-m fast`: sessions terminated, a checkpoint), the third either way; down a few seconds each time. The server is
 * the test's own (test/support/own-postgres.ts): the shared one on 5432 serves other test files meanwhile. Nothing
 * restarts the worker: it must carry on by itself (the event door retries a lost connection in place, then the job
 * retries with BullMQ's backoff; the outbox relay and the notification jobs retry too).
 *
 * Compared with the clean run: no event lost or applied twice, no half-written patient (its version is the number of
 * its events in the log), no email twice, nothing left over. A server down longer than the door's in-place retry
 * (about 1.5 s) lets a patient's later event go first: late events (R-LATE-EVENT), by design, compared as the suite
 * compares every reordered patient (with its events applied one at a time in commit order), and counted.
 */
import {
  compareWithReference,
  eventsInLog,
  FAULT_EVENTS,
  faultRandom,
  faultStream,
  faultSuite,
  figuresOf,
  ownRedis,
  recordFigures,
  settle,
  sleep,
  startFaultWorker,
  tolerantQuery,
  untilLogged,
} from '../support/faults';
import { createFaultEnvOn, startOwnPostgres, type StopMode } from '../support/own-postgres';

const { events, cleanup, reference } = faultSuite({ events: faultStream() });

const RESTARTS = 3;

interface Restart {
  mode: StopMode;
  /** Events in the log when the server was stopped. */
  atLogged: number;
  /** From the stop to the server accepting connections again, ms. */
  downMs: number;
  /** How long `pg_ctl start` took (crash recovery included), ms. */
  startMs: number;
  /** From the server accepting connections to the service's next commit, ms. */
  resumeMs: number;
}

it(`PostgreSQL server restarted ${RESTARTS} times mid-stream (crash and clean): all ${FAULT_EVENTS} events, nothing lost or twice, no half-written patient`, async () => {
  const { seed, rnd } = faultRandom();
  const pg = await startOwnPostgres();
  cleanup.add('own PostgreSQL server', () => pg.destroy());
  const env = await createFaultEnvOn(pg, 'pg_restart', await ownRedis(cleanup), cleanup);
  await env.publisher.publish(events);
  const started = Date.now();
  const worker = await startFaultWorker(env, cleanup);

  // one crash, one clean stop, the third either way, in a random order; each in its own third of 8-85 % of the stream
  const modes: StopMode[] = ['immediate', 'fast', rnd.chance(0.5) ? 'immediate' : 'fast'];
  for (let i = modes.length - 1; i > 0; i -= 1) {
    const j = rnd.int(0, i);
    [modes[i], modes[j]] = [modes[j], modes[i]];
  }
  const width = (0.85 - 0.08) / RESTARTS;
  const marks = modes.map((_, i) => 0.08 + i * width + rnd.next() * width * 0.8);
  const restarts: Restart[] = [];
  for (const [i, mode] of modes.entries()) {
    await untilLogged(env.db.pool, Math.floor(marks[i] * events.length));
    await sleep(rnd.int(0, 300));
    const atLogged = await eventsInLog(env.db.pool);
    if (atLogged >= events.length) break; // the stream is through: nothing left to break
    const stoppedAt = Date.now();
    await pg.stop(mode);
    await sleep(2000 + rnd.int(0, 3000));
    const startMs = await pg.start();
    const back = Date.now();
    const atStart = await eventsInLog(env.db.pool);
    await untilLogged(env.db.pool, atStart + 1, 120_000);
    restarts.push({ mode, atLogged, downMs: back - stoppedAt, startMs, resumeMs: Date.now() - back });
  }

  const afterLast = Date.now(); // the last restart is over: the service commits again
  await settle(env, events.length);
  const seconds = (Date.now() - started) / 1000;
  const settleS = (Date.now() - afterLast) / 1000;
  const verdict = await compareWithReference(env, reference());
  // no half-written patient: each patient's version is the number of its events in the log
  const halfWritten = await tolerantQuery<{ patient_id: string; version: number; logged: number }>(
    env.db.pool,
    `SELECT p.patient_id, p.version, (SELECT count(*)::int FROM clinical_events e WHERE e.patient_id = p.patient_id) AS logged
       FROM patients p
      WHERE p.version <> (SELECT count(*) FROM clinical_events e WHERE e.patient_id = p.patient_id)`,
  );
  // and nothing set aside: no event dead-lettered because the database was down
  const [{ letters }] = await tolerantQuery<{ letters: number }>(
    env.db.pool,
    'SELECT count(*)::int AS letters FROM dead_letters',
  );
  await worker.close();
  recordFigures(
    figuresOf('PostgreSQL server restarted (pg_ctl stop -m immediate / fast, start)', verdict, {
      events: events.length,
      injected: restarts.length,
      // a restart is in `restarts` once the service committed again after it, by itself
      survived: halfWritten.length === 0 && letters === 0 ? restarts.length : 0,
      emails: env.sink.total,
      emailsResent: verdict.emails.resent,
      recoverMs: restarts.length > 0 ? Math.max(...restarts.map((r) => r.resumeMs)) : null,
      seconds,
      notes: [
        `seed ${seed}`,
        ...restarts.map(
          (r) =>
            `${r.mode} at ${r.atLogged}: down ${(r.downMs / 1000).toFixed(1)} s (start ${r.startMs} ms), next commit ${r.resumeMs} ms after`,
        ),
        `settled ${settleS.toFixed(1)} s after the last restart`,
        `half-written patients ${halfWritten.length}`,
        `dead letters ${letters}`,
        `worker errors logged: ${worker.logs.errors}, warnings: ${worker.logs.warnings}`,
      ].join('; '),
    }),
  );
  expect(restarts).toHaveLength(RESTARTS);
  expect(restarts.some((r) => r.mode === 'immediate') && restarts.some((r) => r.mode === 'fast')).toBe(true);
  expect(halfWritten).toEqual([]);
  expect(letters).toBe(0);
  expect({
    lost: verdict.lost,
    duplicated: verdict.duplicated,
    changed: verdict.changed,
    examples: verdict.examples,
  }).toEqual({ lost: 0, duplicated: 0, changed: 0, examples: [] });
});
