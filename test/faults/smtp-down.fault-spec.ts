/**
 * Fault: the SMTP server goes away mid-stream (connections refused, sessions in progress dropped) and comes back on
 * the same port a few seconds later. Emails are transient failures meanwhile, retried with backoff; after it returns,
 * every email is sent exactly once: each notification id the SMTP server received once, and received if and only if
 * its notification row says sent.
 */
import {
  compareWithReference,
  createFaultEnv,
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

const { events, cleanup, reference } = faultSuite({ events: faultStream() });

it(`SMTP down for a while, then back: every email of ${FAULT_EVENTS} events sent exactly once`, async () => {
  const { seed, rnd } = faultRandom();
  const env = await createFaultEnv('smtp_down', await ownRedis(cleanup), cleanup);
  await env.publisher.publish(events);
  const started = Date.now();
  const worker = await startFaultWorker(env, cleanup);

  await untilLogged(env.db.pool, Math.floor((0.1 + rnd.next() * 0.3) * events.length));
  const beforeDown = env.sink.total;
  await env.sink.stop();
  const downMs = 5000 + rnd.int(0, 5000);
  await sleep(downMs);
  const [failedMeanwhile] = await tolerantQuery<{ pending: number; retried: number }>(
    env.db.pool,
    `SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
            count(*) FILTER (WHERE last_error IS NOT NULL AND status = 'pending')::int AS retried
       FROM notifications`,
  );
  await env.sink.start();
  const back = Date.now();
  await env.sink.waitUntil((total) => total > beforeDown, 120_000);
  const recoverMs = Date.now() - back;

  await settle(env, events.length);
  const seconds = (Date.now() - started) / 1000;
  const verdict = await compareWithReference(env, reference());
  await worker.close();
  const ids = [...env.sink.received.keys()];
  recordFigures(
    figuresOf('SMTP server down, then back', verdict, {
      events: events.length,
      injected: 1,
      survived: verdict.emails.lost + verdict.emails.stuck === 0 ? 1 : 0,
      emails: env.sink.total,
      emailsResent: verdict.emails.resent,
      recoverMs,
      seconds,
      notes: `seed ${seed}; down ${downMs} ms after ${beforeDown} emails; ${failedMeanwhile.pending} emails pending when it came back (${failedMeanwhile.retried} had failed an attempt); ${ids.length} distinct notification ids received, ${env.sink.messageIds.size} distinct Message-IDs`,
    }),
  );
  expect(failedMeanwhile.retried).toBeGreaterThan(0); // the outage was felt
  expect({
    lost: verdict.lost,
    duplicated: verdict.duplicated,
    changed: verdict.changed,
    examples: verdict.examples,
  }).toEqual({ lost: 0, duplicated: 0, changed: 0, examples: [] });
  // exactly once, seen from the receiving side: one message per notification id and per Message-ID
  expect(env.sink.total).toBe(ids.length);
  expect(env.sink.messageIds.size).toBe(ids.length);
});
