/**
 * The queue door under fuzzing (issue 6, bad input): 2,000 generated malformed events published straight onto the
 * clinical-events queue, as a careless upstream system would, to a real worker (real Redis and PostgreSQL), with 400
 * valid ones carrying SQL and HTML text among them. Each malformed one is dead-lettered once, with the fields the
 * generator broke, and fails at once (UnrecoverableError: no retry); no job ends as a "processing" failure (which is
 * what a crash in the worker, or a value PostgreSQL refuses, would give); every valid one is applied.
 */
import type { INestApplicationContext } from '@nestjs/common';
import type { Job } from 'bullmq';
import { clinicalEventJob, type ClinicalEvent } from '@app/contracts';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventsLogged, UpstreamPublisher, uniquePrefix, waitFor } from '../support/queues';
import { startWorker } from '../support/worker';
import { malformedEvent, validEvent, type MalformedEvent } from './arbitraries';
import { FUZZ_SEED, generated, report } from './harness';

const MALFORMED = Number(process.env.FUZZ_QUEUE ?? 2_000);
const VALID = Math.ceil(MALFORMED / 5);

let db: TestDatabase;
let worker: INestApplicationContext;
let upstream: UpstreamPublisher;

beforeAll(async () => {
  db = await createTestDatabase('fuzz_queue');
  const prefix = uniquePrefix('fuzz-queue');
  upstream = new UpstreamPublisher(prefix);
  worker = await startWorker({ databaseUrl: db.url, prefix, concurrency: 8 });
});
afterAll(async () => {
  await worker?.close();
  await upstream?.destroy();
  await db?.drop();
});

it(`dead-letters ${MALFORMED} malformed events from the queue, each once and at once, and applies ${VALID} valid ones`, async () => {
  const started = Date.now();
  const broken = new Map<string, MalformedEvent>();
  let i = 0;
  for (const m of generated(malformedEvent, MALFORMED)) {
    const jobId = `fz-${FUZZ_SEED}-${i++}`;
    broken.set(jobId, m);
    const type = (m.input as { type?: unknown } | null)?.type;
    await upstream.publishRaw(typeof type === 'string' && type.length < 200 ? type : 'fuzz', m.input, jobId);
  }
  const valid: ClinicalEvent[] = [...generated(validEvent, VALID, 500, 1)].map(
    (e, n) => ({ ...e, eventId: `v${n}-${String(e.eventId).slice(0, 150)}` }) as unknown as ClinicalEvent,
  );
  for (const event of valid) {
    const job = clinicalEventJob(event);
    await upstream.queue.add(job.name, job.data, job.opts);
  }

  const letters = await waitFor(
    async () =>
      (
        await db.pool.query<{ key: string; errors: { field: string; reason: string }[] }>(
          `SELECT dedupe_key AS key, errors FROM dead_letters WHERE channel = 'queue'`,
        )
      ).rows,
    (rows) => rows.length >= MALFORMED,
    { timeoutMs: 100_000, intervalMs: 500, what: `${MALFORMED} dead letters` },
  );
  await eventsLogged(
    db.pool,
    valid.map((e) => e.eventId),
  );
  const seconds = (Date.now() - started) / 1000;

  // one dead letter per malformed job, naming what the generator broke
  expect(letters).toHaveLength(MALFORMED);
  for (const { key, errors } of letters) {
    const m = broken.get(key.replace(/^queue\./, ''));
    if (!m) throw new Error(`a dead letter for an unknown job ${key}`);
    for (const want of m.expected)
      if (!errors.some((e) => e.field === want.field && (!want.reason || e.reason === want.reason)))
        throw new Error(`${key}: no error on ${want.field} after ${m.mutations.join('; ')} (FUZZ_SEED=${FUZZ_SEED})`);
  }
  // failed once, without retries; nothing failed for any other reason
  const failed: Job[] = await upstream.queue.getFailed(0, MALFORMED + 10);
  expect(failed).toHaveLength(MALFORMED);
  expect(failed.every((j) => j.attemptsMade === 1 && j.failedReason.startsWith('invalid clinical event'))).toBe(true);
  const processing = await db.pool.query(`SELECT 1 FROM dead_letters WHERE channel = 'processing'`);
  expect(processing.rowCount).toBe(0);
  const logged = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM clinical_events`);
  expect(logged.rows[0].n).toBe(VALID);
  report(
    `queue: ${MALFORMED} malformed events → ${letters.length} dead letters (channel queue), ${failed.length} jobs failed once, ` +
      `0 retried, 0 processing failures; ${VALID} valid applied; ${seconds.toFixed(1)} s (seed ${FUZZ_SEED})`,
  );
}, 150_000);
