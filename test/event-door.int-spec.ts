/**
 * The pathway's door against a real PostgreSQL: exactly once, all or nothing, late arrivals converge,
 * and the stored state is always the replay of the stored log (DESIGN invariants 1–4).
 */
import { chronological, generateCohort } from '@app/cohort';
import type { ClinicalEvent } from '@app/contracts';
import { createPathway, type PatientState } from '@app/pathway';
import { ClinicalEventApplier, compareClinicalOrder, type ApplyOptions } from '@app/store';
import { createTestDatabase, type TestDatabase } from './support/database';
import { marginPositiveJourney } from './support/events';

const pathway = createPathway();
const options: ApplyOptions = {
  now: new Date('2025-02-10T15:00:00Z'),
  escalation: [
    { level: 'navigator-lead', afterMs: 24 * 3_600_000 },
    { level: 'clinical-lead', afterMs: 48 * 3_600_000 },
  ],
};

let db: TestDatabase;
let door: ClinicalEventApplier;

beforeAll(async () => {
  db = await createTestDatabase('door');
  door = new ClinicalEventApplier(db.pool, pathway);
});
afterAll(() => db.drop());

async function count(sql: string, params: unknown[]): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${sql}) x`, params);
  return rows[0].n;
}

async function storedState(patientId: string): Promise<{ state: PatientState; version: number }> {
  const { rows } = await db.pool.query('SELECT state, version FROM patients WHERE patient_id = $1', [patientId]);
  return rows[0];
}

function replay(events: ClinicalEvent[]): PatientState {
  return [...events].sort(compareClinicalOrder).reduce((s, e) => pathway.evolve(s, e), pathway.initialState());
}

describe('exactly once (invariant 1)', () => {
  it('100 concurrent deliveries of one event give one log row and one set of tasks', async () => {
    const [registered, surgery, pathology] = marginPositiveJourney('once', 'P-ONCE');
    await door.apply(registered, options);
    await door.apply(surgery, options);
    const outcomes = await Promise.all(Array.from({ length: 100 }, () => door.apply(pathology, options)));

    expect(outcomes.filter((o) => o.status === 'applied')).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'duplicate')).toHaveLength(99);
    expect(await count('SELECT 1 FROM clinical_events WHERE event_id = $1', [pathology.eventId])).toBe(1);

    const expectedTasks = pathway
      .decide(replay([registered, surgery]), pathology, options.now)
      .effects.filter((e) => e.kind === 'open-task');
    expect(expectedTasks.length).toBeGreaterThan(0);
    expect(await count('SELECT 1 FROM tasks WHERE event_id = $1', [pathology.eventId])).toBe(expectedTasks.length);
    // One outbox row for the event; its tasks-created job names every task it opened.
    const outbox = await db.pool.query<{ jobs: { name: string; data: { tasks: { taskId: string }[] } }[] }>(
      'SELECT jobs FROM outbox WHERE event_id = $1',
      [pathology.eventId],
    );
    expect(outbox.rowCount).toBe(1);
    const announced = outbox.rows[0].jobs.find((j) => j.name === 'tasks-created')!.data.tasks.map((t) => t.taskId);
    const opened = await db.pool.query<{ id: string }>('SELECT id FROM tasks WHERE event_id = $1', [pathology.eventId]);
    expect(announced.sort()).toEqual(opened.rows.map((r) => r.id).sort());
    expect((await storedState('P-ONCE')).version).toBe(3);

    const review = await db.pool.query(
      `SELECT rule_id, priority, due_at FROM tasks WHERE event_id = $1 AND type = 're-excision-review'`,
      [pathology.eventId],
    );
    expect(review.rows).toEqual([{ rule_id: 'R-MARGIN-R1', priority: 'high', due_at: '2025-02-17T13:30:00.000Z' }]);
  });
});

describe('all or nothing (invariant 2)', () => {
  it('a crash after the state write and before commit leaves nothing; the retry gives the full effect once', async () => {
    const events = marginPositiveJourney('crash', 'P-CRASH');
    await door.apply(events[0], options);
    await door.apply(events[1], options);
    const crash = { ...options, beforeCommit: async () => Promise.reject(new Error('power cut')) };

    await expect(door.apply(events[2], crash)).rejects.toThrow('power cut');
    expect(await count('SELECT 1 FROM clinical_events WHERE event_id = $1', [events[2].eventId])).toBe(0);
    expect(await count('SELECT 1 FROM tasks WHERE patient_id = $1', ['P-CRASH'])).toBe(0);
    expect((await storedState('P-CRASH')).version).toBe(2);
    const outboxBefore = await count('SELECT 1 FROM outbox', []);

    const retried = await door.apply(events[2], options);
    expect(retried.status).toBe('applied');
    expect((await storedState('P-CRASH')).version).toBe(3);
    expect(await count('SELECT 1 FROM tasks WHERE event_id = $1', [events[2].eventId])).toBe(
      retried.status === 'applied' ? retried.taskIds.length : -1,
    );
    expect(await count('SELECT 1 FROM outbox', [])).toBeGreaterThan(outboxBefore);
    expect((await door.apply(events[2], options)).status).toBe('duplicate');
  });
});

describe('one event per patient at a time, late arrivals converge (invariants 3, 4)', () => {
  it('a cohort applied in shuffled order, 16 at a time, ends in the same states as one by one in clinical order', async () => {
    const cohort = generateCohort({ patients: 40, seed: 11, idPrefix: 'shuffle' });
    const events = chronological(cohort);
    // Deterministic shuffle: a stride walk through the stream.
    const shuffled = events.map((_, i) => events[(i * 7919) % events.length]);
    expect(new Set(shuffled).size).toBe(events.length);
    for (let i = 0; i < shuffled.length; i += 16) {
      await Promise.all(shuffled.slice(i, i + 16).map((e) => door.apply(e, options)));
    }
    for (const patient of cohort) {
      const stored = await storedState(patient.patientId);
      expect(stored.version).toBe(patient.events.length);
      expect(stored.state).toEqual(replay(patient.events));
    }
    const late = await count(`SELECT 1 FROM clinical_events WHERE event_id LIKE 'shuffle-%' AND outcome = 'late'`, []);
    expect(late).toBeGreaterThan(0);
    expect(await count(`SELECT 1 FROM tasks WHERE rule_id = 'R-LATE-EVENT' AND event_id LIKE 'shuffle-%'`, [])).toBe(
      late,
    );
  });

  it('the stored state of every patient is the replay of its stored log', async () => {
    const { rows } = await db.pool.query<{ patient_id: string; state: PatientState; events: ClinicalEvent[] }>(
      `SELECT p.patient_id, p.state, array_agg(e.envelope) AS events
         FROM patients p JOIN clinical_events e USING (patient_id) GROUP BY p.patient_id, p.state`,
    );
    expect(rows.length).toBeGreaterThan(40);
    for (const row of rows) expect(row.state).toEqual(replay(row.events));
  });
});
