/**
 * Fault: a slow consumer. The whole stream is queued while no worker runs (an outage, a deploy that took all
 * afternoon), then one worker process drains it. Its memory must stay bounded: BullMQ hands it a few jobs at a time,
 * whatever the queue's length. RSS is sampled from /proc/<pid>/status while it drains.
 * CI queues FAULTS_EVENTS events; `FAULTS_FULL=1 npm run test:faults` queues 100,000.
 */
import {
  compareWithReference,
  createFaultEnv,
  eventsInLog,
  faultStream,
  faultSuite,
  figuresOf,
  ownRedis,
  recordFigures,
  settle,
  sleep,
  SLOW_CONSUMER_EVENTS,
  spawnFaultWorker,
} from '../support/faults';

const { events, cleanup, reference } = faultSuite({ events: faultStream(SLOW_CONSUMER_EVENTS) }, 3_600_000);

/** A worker draining this many queued events stays under this resident size. */
const RSS_LIMIT_MB = 400;

it(`${SLOW_CONSUMER_EVENTS} events queued with no worker, then drained by one: memory bounded, nothing lost or twice`, async () => {
  const env = await createFaultEnv('slow_consumer', await ownRedis(cleanup), cleanup);
  await env.publisher.publish(events);
  expect(await env.publisher.queue.getWaitingCount()).toBe(events.length);

  const started = Date.now();
  const worker = spawnFaultWorker(env, cleanup);
  await worker.ready();
  const samples: { logged: number; rssKb: number }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const rssKb = await worker.rssKb();
      if (rssKb !== null) samples.push({ logged: await eventsInLog(env.db.pool), rssKb });
      await sleep(250);
    }
  })();
  try {
    await settle(env, events.length, 3_000_000);
  } finally {
    sampling = false;
    await sampler;
  }
  const seconds = (Date.now() - started) / 1000;
  const verdict = await compareWithReference(env, reference());
  await worker.stop();

  const maxRssKb = Math.max(...samples.map((s) => s.rssKb));
  // memory while the first tenth drained against the last tenth: a worker holding on to what it processed grows
  const tenth = events.length / 10;
  const early = samples.filter((s) => s.logged <= tenth).map((s) => s.rssKb);
  const late = samples.filter((s) => s.logged >= events.length - tenth).map((s) => s.rssKb);
  recordFigures(
    figuresOf('slow consumer: backlog queued, then drained', verdict, {
      events: events.length,
      injected: 1,
      survived: verdict.lost === 0 ? 1 : 0,
      emails: env.sink.total,
      emailsResent: verdict.emails.resent,
      recoverMs: null,
      seconds,
      maxRssMb: Math.round(maxRssKb / 1024),
      notes: `${samples.length} RSS samples; first tenth max ${Math.round(Math.max(...early) / 1024)} MB, last tenth max ${Math.round(Math.max(...late) / 1024)} MB; ${Math.round(events.length / seconds)} events/s`,
    }),
  );
  expect(samples.length).toBeGreaterThan(3);
  expect(maxRssKb / 1024).toBeLessThan(RSS_LIMIT_MB);
  expect({
    lost: verdict.lost,
    duplicated: verdict.duplicated,
    changed: verdict.changed,
    examples: verdict.examples,
  }).toEqual({ lost: 0, duplicated: 0, changed: 0, examples: [] });
});
