/**
 * Two worker processes, as deployed, consume one queue at once: 200 patients' interleaved events end in
 * the same states as applying each patient's events one by one in clinical order (invariant 3).
 */
import { chronological, generateCohort } from '@app/cohort';
import { createPathway } from '@app/pathway';
import { compareClinicalOrder } from '@app/store';
import { createTestDatabase, type TestDatabase } from './support/database';
import { UpstreamPublisher, uniquePrefix, waitFor } from './support/queues';
import { spawnWorkerProcess } from './support/worker';

jest.setTimeout(180_000);

let db: TestDatabase;
let upstream: UpstreamPublisher;
let workers: ReturnType<typeof spawnWorkerProcess>[] = [];

beforeAll(async () => {
  db = await createTestDatabase('two');
  const prefix = uniquePrefix('two');
  upstream = new UpstreamPublisher(prefix);
  workers = [0, 1].map(() => spawnWorkerProcess({ databaseUrl: db.url, prefix, concurrency: 8 }));
});
afterAll(async () => {
  // Bounded graceful shutdown: SIGTERM is handled (Nest closes the workers, then re-raises the signal).
  const started = Date.now();
  const exits = await Promise.all(workers.map((w) => w.stop()));
  expect(Date.now() - started).toBeLessThan(10_000);
  for (const [i, exit] of exits.entries()) {
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
    expect(workers[i].output()).toContain('SIGTERM received: draining');
  }
  await upstream.destroy();
  await db.drop();
});

it('200 patients through two worker processes end as if applied one by one', async () => {
  const pathway = createPathway();
  const cohort = generateCohort({ patients: 200, seed: 2024, idPrefix: 'two' });
  const events = chronological(cohort);
  await upstream.publish(events);
  await waitFor(
    () => db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM clinical_events').then((r) => r.rows[0].n),
    (n) => n === events.length,
    { timeoutMs: 150_000, intervalMs: 250, what: `${events.length} events applied` },
  );

  const { rows } = await db.pool.query<{ patient_id: string; pathway: string; version: number; state: unknown }>(
    'SELECT patient_id, pathway, version, state FROM patients',
  );
  expect(rows).toHaveLength(200);
  const stored = new Map(rows.map((r) => [r.patient_id, r]));
  for (const patient of cohort) {
    const oneByOne = [...patient.events]
      .sort(compareClinicalOrder)
      .reduce((s, e) => pathway.evolve(s, e), pathway.initialState());
    const row = stored.get(patient.patientId)!;
    expect({ id: patient.patientId, pathway: row.pathway, state: row.state }).toEqual({
      id: patient.patientId,
      pathway: oneByOne.pathway,
      state: oneByOne,
    });
    expect(row.version).toBe(patient.events.length);
  }
  // Both processes took a share of the work.
  const appliedBy = await db.pool.query(
    'SELECT applied_by, count(*)::int AS n FROM clinical_events GROUP BY applied_by',
  );
  expect(appliedBy.rowCount).toBe(2);
  expect(workers.every((w) => w.child.exitCode === null)).toBe(true);
  expect(await upstream.queue.getJobCounts('waiting', 'active', 'failed')).toMatchObject({
    waiting: 0,
    active: 0,
    failed: 0,
  });
});
