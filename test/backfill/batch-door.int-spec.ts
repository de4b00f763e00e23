import type { Pool } from 'pg';
import { chronological, generateCohort, SeededRandom } from '@app/cohort';
import type { ClinicalEvent } from '@app/contracts';
import { createPathway } from '@app/pathway';
import {
  CareTaskStore,
  ClinicalEventApplier,
  ClinicalEventBatchApplier,
  NotificationStore,
  SurveillanceSweeper,
} from '@app/store';
import { DEFAULT_ROUTING as ROUTING } from '@app/navigation';
import { escalationSteps } from '../../apps/worker/src/clinical-events/clinical-event-intake';
import { createTestDatabase, type TestDatabase } from '../support/database';

/**
 * The backfill's batch door must leave exactly the rows the one-event door leaves: the same cohort, with
 * duplicates and late arrivals mixed in, is applied event by event into one database and in batches into another
 * (after the same history and the same sweep in both), and every table is compared row by row.
 */
// two databases fed the same cohort one event at a time: slow on a busy machine
jest.setTimeout(240_000);

const pathway = createPathway();
const options = { now: new Date('2026-11-15T08:00:00Z'), escalation: escalationSteps(pathway) };

let one: TestDatabase;
let batched: TestDatabase;

beforeAll(async () => {
  [one, batched] = await Promise.all([createTestDatabase('batch_eq_one'), createTestDatabase('batch_eq_batched')]);
});
afterAll(async () => {
  await Promise.all([one?.drop(), batched?.drop()]);
});

/** The cohort in publishing order, with re-deliveries and events that arrive after later ones. */
function stream(): ClinicalEvent[] {
  const events = chronological(generateCohort({ patients: 160, seed: 11, idPrefix: 'eq' }));
  const rnd = new SeededRandom(5);
  // late arrivals: an event moved behind the next event of the same patient
  for (let n = 0; n < 12; n += 1) {
    const i = Math.floor(rnd.next() * (events.length - 50));
    const j = events.findIndex((e, k) => k > i && e.patientId === events[i].patientId);
    if (j > i) events.splice(j, 0, events.splice(i, 1)[0]);
  }
  // re-deliveries: the same event again, a little later
  for (let n = 0; n < 25; n += 1) {
    const i = Math.floor(rnd.next() * (events.length - 10));
    events.splice(i + 1 + Math.floor(rnd.next() * 8), 0, events[i]);
  }
  return events;
}

function sweeper(pool: Pool): SurveillanceSweeper {
  const tasks = new CareTaskStore(pool, ROUTING, pathway.config);
  return new SurveillanceSweeper(pool, pathway.config, tasks, new NotificationStore(pool));
}

async function snapshot(pool: Pool) {
  const q = async (sql: string) => (await pool.query(sql)).rows;
  return {
    patients: await q(
      'SELECT patient_id, pathway, state, version, last_occurred_at, last_event_id FROM patients ORDER BY patient_id',
    ),
    events: await q(
      `SELECT event_id, patient_id, type, occurred_at, envelope, outcome, effects, patient_version
         FROM clinical_events ORDER BY event_id`,
    ),
    tasks: await q(
      `SELECT id, task_key, patient_id, event_id, type, rule_id, priority, status, due_at, reason, modality, region,
              escalate, closed_at, closed_by_event_id, surveillance_item_key FROM tasks ORDER BY id`,
    ),
    items: await q(
      `SELECT patient_id, item_key, plan_event_id, kind, rule_id, modality, region, due_at, overdue_at, status,
              done_at, done_by, ordered_at, overdue_task_at FROM surveillance_items ORDER BY patient_id, item_key`,
    ),
    outbox: outboxJobs(await q('SELECT jobs FROM outbox ORDER BY id')),
  };
}

interface Job {
  name: string;
  jobId: string;
  data: { tasks?: { taskId: string }[] };
}

/**
 * What the outbox will publish: every timer and alert job as it is, and the tasks announced as created (the batch
 * door announces a batch's tasks in one `tasks-created` job rather than one per event). The batch door marks its
 * notification jobs `backfill: true` (BACKFILL_EMAILS decides their emails): left out of the comparison.
 */
function outboxJobs(rows: { jobs: Job[] }[]) {
  const jobs = rows
    .flatMap((r) => r.jobs)
    .map((j) => {
      const { backfill, ...data } = j.data as Job['data'] & { backfill?: boolean };
      return backfill === undefined ? j : { ...j, data };
    });
  return {
    other: jobs.filter((j) => j.name !== 'tasks-created').sort((a, b) => a.jobId.localeCompare(b.jobId)),
    created: jobs
      .filter((j) => j.name === 'tasks-created')
      .flatMap((j) => j.data.tasks ?? [])
      .sort((a, b) => a.taskId.localeCompare(b.taskId)),
  };
}

it('leaves the same patients, event log, tasks, surveillance items and outbox as applying one event at a time', async () => {
  const events = stream();
  const history = events.slice(0, Math.floor(events.length * 0.4));
  const rest = events.slice(history.length);

  const singleOne = new ClinicalEventApplier(one.pool, pathway);
  const singleBatched = new ClinicalEventApplier(batched.pool, pathway);
  for (const event of history) {
    await singleOne.apply(event, options);
    await singleBatched.apply(event, options);
  }
  // the sweeper opens order and overdue tasks for planned items: the batch must close and cancel those too
  const swept = await sweeper(one.pool).sweep(options.now);
  await sweeper(batched.pool).sweep(options.now);
  expect(swept.ordersOpened + swept.overdueOpened).toBeGreaterThan(0);

  for (const event of rest) await singleOne.apply(event, options);
  const door = new ClinicalEventBatchApplier(batched.pool, pathway, singleBatched);
  let deferred = 0;
  const statuses = new Map<string, number>();
  for (let i = 0; i < rest.length; i += 64) {
    const result = await door.applyBatch(rest.slice(i, i + 64), options);
    deferred += result.deferred;
    for (const o of result.outcomes) statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
  }

  // the stream really exercised duplicates, late arrivals and unexpected events
  expect(statuses.get('duplicate')).toBeGreaterThan(0);
  expect(statuses.get('late')).toBeGreaterThan(0);
  expect(deferred).toBeGreaterThan(0);
  expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(rest.length);

  const [a, b] = [await snapshot(one.pool), await snapshot(batched.pool)];
  expect(b.events.length).toBe(new Set(events.map((e) => e.eventId)).size);
  expect(b.tasks.filter((t) => t.status === 'completed').length).toBeGreaterThan(0);
  expect(b.items.filter((i) => i.status === 'done').length).toBeGreaterThan(0);
  expect(b.patients).toEqual(a.patients);
  expect(b.events).toEqual(a.events);
  expect(b.tasks).toEqual(a.tasks);
  expect(b.items).toEqual(a.items);
  expect(b.outbox.created.length).toBeGreaterThan(0);
  expect(b.outbox).toEqual(a.outbox);
});

it('changes nothing when the same batch is delivered again', async () => {
  const events = chronological(generateCohort({ patients: 20, seed: 12, idPrefix: 'again' }));
  const door = new ClinicalEventBatchApplier(batched.pool, pathway, new ClinicalEventApplier(batched.pool, pathway));
  const first = await door.applyBatch(events, options);
  expect(first.outcomes.every((o) => o.status !== 'duplicate')).toBe(true);
  const before = await snapshot(batched.pool);
  const again = await door.applyBatch(events, options);
  expect(again.outcomes.map((o) => o.status)).toEqual(events.map(() => 'duplicate'));
  expect(await snapshot(batched.pool)).toEqual(before);
});
