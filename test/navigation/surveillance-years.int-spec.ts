/**
 * Ten simulated years of surveillance through the real queue, PostgreSQL and the sweeper, on a fake clock moved a
 * fortnight at a time. Each order the sweeper opens (imaging-order, visit-reminder) is answered the way the hospital
 * would: when the item falls due, radiology reports the scan or the clinic records the visit, and that event marks
 * the item done. The items done per year must be exactly the table of pathway-rules.md section 3.
 */
import type { INestApplicationContext } from '@nestjs/common';
import type { ClinicalEvent } from '@app/contracts';
import { CareTaskStore, FakeClock } from '@app/store';
import { TimersProcessor } from '../../apps/worker/src/timers/timers.processor';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { clinicalEvent } from '../support/events';
import { eventsLogged, UpstreamPublisher, uniquePrefix } from '../support/queues';
import { seedTestTeams, STAFF } from '../support/teams';
import { startWorker } from '../support/worker';

const DAY = 86_400_000;
const START = '2030-01-20T10:00:00.000Z';
const clock = new FakeClock(new Date(START));
let db: TestDatabase;
let upstream: UpstreamPublisher;
let worker: INestApplicationContext;

beforeAll(async () => {
  db = await createTestDatabase('surv-years');
  await seedTestTeams(db.pool);
  const prefix = uniquePrefix('years');
  upstream = new UpstreamPublisher(prefix);
  worker = await startWorker({ databaseUrl: db.url, prefix, clock });
});
afterAll(async () => {
  await worker.close();
  await upstream.destroy();
  await db.drop();
});

const iso = (offsetDays: number) => new Date(Date.parse(START) + offsetDays * DAY).toISOString();

/** Registration, wide excision, then an R0 result of this grade at START: surveillance starts then (R-SURV-START). */
function treated(patientId: string, grade: 1 | 3): ClinicalEvent[] {
  return [
    clinicalEvent(`${patientId}-reg`, patientId, 'patient.registered', iso(-30), {
      primarySite: 'thigh',
      diagnosisDate: iso(-30).slice(0, 10),
      careTeam: 'sarcoma-north',
    }),
    clinicalEvent(`${patientId}-surgery`, patientId, 'surgery.performed', iso(-10), {
      procedure: 'wide-excision',
      performedAt: iso(-10),
    }),
    clinicalEvent(`${patientId}-path`, patientId, 'pathology.reported', START, {
      reportId: `RPT-${patientId}`,
      status: 'final',
      margin: 'R0',
      grade,
      sizeCm: 4,
      depth: 'superficial',
      histology: 'leiomyosarcoma',
    }),
  ];
}

async function apply(events: ClinicalEvent[]): Promise<void> {
  if (events.length === 0) return;
  await upstream.publish(events);
  await eventsLogged(
    db.pool,
    events.map((e) => e.eventId),
  );
}

/** What the hospital does about each order whose item is now due: the scan is reported, the visit happens. */
async function answerDueOrders(): Promise<number> {
  const now = clock.now().toISOString();
  const { rows } = await db.pool.query<{ patient_id: string; item_key: string; kind: string }>(
    `SELECT t.patient_id, i.item_key, i.kind FROM tasks t
       JOIN surveillance_items i ON i.patient_id = t.patient_id AND i.item_key = t.surveillance_item_key
      WHERE t.type IN ('imaging-order', 'visit-reminder') AND t.status = 'requested' AND i.due_at <= $1
      ORDER BY t.patient_id, i.due_at`,
    [now],
  );
  const events = rows.map((r) =>
    r.kind === 'clinic-visit'
      ? clinicalEvent(`done-${r.item_key}`, r.patient_id, 'clinic.visited', now, { visitedAt: now })
      : clinicalEvent(`done-${r.item_key}`, r.patient_id, 'imaging.reported', now, {
          modality: r.kind === 'chest-imaging' ? 'CT' : 'MRI',
          region: r.kind === 'chest-imaging' ? 'chest' : 'primary-site',
          finding: 'no-evidence-of-disease',
        }),
  );
  await apply(events);
  return events.length;
}

/** Moves the clock a fortnight at a time until `untilDays`, sweeping and answering orders each time. */
async function live(untilDays: number): Promise<void> {
  const sweeper = worker.get(TimersProcessor);
  while (clock.now().getTime() < Date.parse(iso(untilDays))) {
    clock.advance(14 * DAY);
    await sweeper.sweep();
    await answerDueOrders();
  }
}

/** Items done, per kind, per year of the plan (an item due in month 12 is year 1). */
async function donePerYear(patientId: string, anchor: string): Promise<Record<string, number[]>> {
  const { rows } = await db.pool.query<{ kind: string; due_at: string }>(
    `SELECT kind, due_at FROM surveillance_items WHERE patient_id = $1 AND status = 'done' ORDER BY due_at`,
    [patientId],
  );
  const a = new Date(anchor);
  const result: Record<string, number[]> = {};
  for (const row of rows) {
    const d = new Date(row.due_at);
    const months = (d.getUTCFullYear() - a.getUTCFullYear()) * 12 + d.getUTCMonth() - a.getUTCMonth();
    const year = Math.ceil(months / 12);
    result[row.kind] ??= Array.from({ length: 10 }, () => 0);
    result[row.kind][year - 1] += 1;
  }
  return result;
}

const count = async (sql: string, params: unknown[]) => (await db.pool.query<{ n: number }>(sql, params)).rows[0].n;

it('ten years of a high-grade and a low-grade patient give exactly the visits and imaging of R-SURV-HG-*, R-SURV-MRI and R-SURV-LG-*', async () => {
  await apply([...treated('P-YEARS-HG', 3), ...treated('P-YEARS-LG', 1)]);
  await live(10 * 365 + 60);

  // pathway-rules.md section 3: every 3–4 months (years 0–3), 6 (3–5), 12 (5–10); MRI every 6, 12, 12
  expect(await donePerYear('P-YEARS-HG', START)).toEqual({
    'clinic-visit': [4, 4, 4, 2, 2, 1, 1, 1, 1, 1], // R-SURV-HG-VISIT
    'chest-imaging': [4, 4, 4, 2, 2, 1, 1, 1, 1, 1], // R-SURV-HG-CHEST
    'primary-site-mri': [2, 2, 2, 1, 1, 1, 1, 1, 1, 1], // R-SURV-MRI
  });
  // low grade: visits every 4–6 months, then 6–12, then 12; chest every 6–12, then 12, then 12
  expect(await donePerYear('P-YEARS-LG', START)).toEqual({
    'clinic-visit': [3, 3, 3, 2, 2, 1, 1, 1, 1, 1], // R-SURV-LG-VISIT
    'chest-imaging': [2, 2, 2, 1, 1, 1, 1, 1, 1, 1], // R-SURV-LG-CHEST
    'primary-site-mri': [2, 2, 2, 1, 1, 1, 1, 1, 1, 1], // R-SURV-MRI
  });
  for (const patient of ['P-YEARS-HG', 'P-YEARS-LG']) {
    // the schedule ends at 10 years: nothing is left planned, nothing was missed, every order was answered
    expect(
      await count(`SELECT count(*)::int AS n FROM surveillance_items WHERE patient_id = $1 AND status <> 'done'`, [
        patient,
      ]),
    ).toBe(0);
    expect(
      await count(`SELECT count(*)::int AS n FROM tasks WHERE patient_id = $1 AND type = 'surveillance-overdue'`, [
        patient,
      ]),
    ).toBe(0);
    const orders = await db.pool.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM tasks WHERE patient_id = $1 AND surveillance_item_key IS NOT NULL GROUP BY status`,
      [patient],
    );
    const items = await count(`SELECT count(*)::int AS n FROM surveillance_items WHERE patient_id = $1`, [patient]);
    expect(orders.rows).toEqual([{ status: 'completed', n: items }]);
  }
});

it('R-LR-ESCALATE: a local recurrence in year 2 replaces the low-grade plan with the high-grade one from that date', async () => {
  clock.set(START);
  await apply(treated('P-YEARS-LR', 1));
  await live(540);
  const recurrenceAt = clock.now().toISOString();
  await apply([
    clinicalEvent('P-YEARS-LR-recurrence', 'P-YEARS-LR', 'recurrence.detected', recurrenceAt, { kind: 'local' }),
  ]);
  await live(540 + 365 + 30);

  // the old plan's items after the recurrence are cancelled, never chased
  const old = await db.pool.query<{ status: string; n: number }>(
    `SELECT status, count(*)::int AS n FROM surveillance_items
      WHERE patient_id = 'P-YEARS-LR' AND item_key LIKE 'P-YEARS-LR-path.%' AND due_at > $1 GROUP BY status`,
    [recurrenceAt],
  );
  expect(old.rows).toEqual([{ status: 'cancelled', n: expect.any(Number) }]);
  expect(old.rows[0].n).toBeGreaterThan(0);
  // the intensified plan runs from the recurrence date on high-grade intervals: first year 4 visits, 4 chest, 2 MRI
  const first = await db.pool.query<{ kind: string; rule_id: string; n: number }>(
    `SELECT kind, rule_id, count(*)::int AS n FROM surveillance_items
      WHERE patient_id = 'P-YEARS-LR' AND item_key LIKE 'P-YEARS-LR-recurrence.%' AND status = 'done' AND due_at > $1 AND due_at <= $2::timestamptz + interval '12 months'
      GROUP BY kind, rule_id ORDER BY kind`,
    [recurrenceAt, recurrenceAt],
  );
  expect(first.rows).toEqual([
    { kind: 'chest-imaging', rule_id: 'R-SURV-HG-CHEST', n: 4 },
    { kind: 'clinic-visit', rule_id: 'R-SURV-HG-VISIT', n: 4 },
    { kind: 'primary-site-mri', rule_id: 'R-SURV-MRI', n: 2 },
  ]);
});

it('R-SURV-OVERDUE: a missed item opens an overdue task, escalates to the navigator lead 14 days later, and completing the task marks the item done', async () => {
  clock.set(START);
  await apply(treated('P-YEARS-MISS', 3));
  const sweeper = worker.get(TimersProcessor);
  const tasksOf = async () =>
    (
      await db.pool.query<{
        id: string;
        type: string;
        rule_id: string;
        status: string;
        assignee_id: string | null;
        escalation_level: number;
        surveillance_item_key: string | null;
      }>(
        `SELECT id, type, rule_id, status, assignee_id, escalation_level, surveillance_item_key FROM tasks
          WHERE patient_id = 'P-YEARS-MISS' AND surveillance_item_key IS NOT NULL ORDER BY created_at, type`,
      )
    ).rows;
  // month 3: the first visit and chest CT are ordered (due in 14 days) and nobody answers
  clock.set(iso(80));
  await sweeper.sweep();
  expect((await tasksOf()).map((t) => `${t.type}/${t.rule_id}`).sort()).toEqual([
    'imaging-order/R-SURV-HG-CHEST',
    'visit-reminder/R-SURV-HG-VISIT',
  ]);
  // month 4 has passed: both items are overdue (R-SURV-OVERDUE), routed to the care team's navigator
  clock.set(iso(125));
  await sweeper.sweep();
  const overdue = (await tasksOf()).filter((t) => t.type === 'surveillance-overdue');
  expect(overdue).toHaveLength(2);
  expect(overdue.every((t) => t.rule_id === 'R-SURV-OVERDUE' && t.assignee_id === STAFF.northNav.id)).toBe(true);
  // a second sweep opens nothing twice
  await sweeper.sweep();
  expect((await tasksOf()).filter((t) => t.type === 'surveillance-overdue')).toHaveLength(2);

  // the navigator books the visit and completes its overdue task: the item is done, its order task closes with it
  const visitOverdue = overdue.find((t) => t.surveillance_item_key?.includes('R-SURV-HG-VISIT'))!;
  const tasks = worker.get(CareTaskStore);
  const nav = { role: 'navigator' as const, memberId: STAFF.northNav.id, teamCode: 'sarcoma-north' };
  for (const action of ['accept', 'start', 'complete'] as const)
    await tasks.act(visitOverdue.id, action, nav, {}, clock.now());
  const item = await db.pool.query<{ status: string; done_by: string }>(
    'SELECT status, done_by FROM surveillance_items WHERE patient_id = $1 AND item_key = $2',
    ['P-YEARS-MISS', visitOverdue.surveillance_item_key],
  );
  expect(item.rows[0]).toEqual({ status: 'done', done_by: `task:${visitOverdue.id}` });
  const visitTasks = (await tasksOf()).filter((t) => t.surveillance_item_key === visitOverdue.surveillance_item_key);
  expect(visitTasks.map((t) => t.status)).toEqual(['completed', 'completed']);

  // 14 days after the window closed and after the navigator got the task, the chest CT is still not done: the
  // navigator lead is told, once (not a day sooner)
  clock.set(iso(125 + 13));
  await sweeper.sweep();
  expect(
    (await tasksOf()).find((t) => t.type === 'surveillance-overdue' && t.id !== visitOverdue.id)?.escalation_level,
  ).toBe(0);
  clock.set(iso(125 + 14));
  await sweeper.sweep();
  const chest = (await tasksOf()).find((t) => t.type === 'surveillance-overdue' && t.id !== visitOverdue.id)!;
  expect(chest.escalation_level).toBe(1);
  const notified = await db.pool.query<{ member_id: string; kind: string }>(
    `SELECT member_id, kind FROM notifications WHERE task_id = $1 AND kind = 'task-escalated'`,
    [chest.id],
  );
  expect(notified.rows.map((n) => n.member_id).sort()).toEqual([STAFF.northNav.id, STAFF.northLead.id].sort());
  await sweeper.sweep();
  expect((await tasksOf()).find((t) => t.id === chest.id)?.escalation_level).toBe(1);
});

it('R-SURV-OVERDUE after a long gap: one call per kind, about the latest missed item; the earlier ones are recorded as missed', async () => {
  clock.set(START);
  await apply(treated('P-YEARS-GAP', 3));
  // nobody sweeps for 13 months (an outage, or a backfill): visits and chest CTs at months 3, 6, 9 (and MRI at 6) are past
  clock.set(iso(395));
  const report = await worker.get(TimersProcessor).sweep();
  const overdue = await db.pool.query<{ kind: string; n: number }>(
    `SELECT i.kind, count(*)::int AS n FROM tasks t
       JOIN surveillance_items i ON i.patient_id = t.patient_id AND i.item_key = t.surveillance_item_key
      WHERE t.patient_id = 'P-YEARS-GAP' AND t.type = 'surveillance-overdue' AND t.status = 'requested'
      GROUP BY i.kind ORDER BY i.kind`,
  );
  expect(overdue.rows).toEqual([
    { kind: 'chest-imaging', n: 1 },
    { kind: 'clinic-visit', n: 1 },
    { kind: 'primary-site-mri', n: 1 },
  ]);
  const missed = await db.pool.query<{ kind: string; n: number }>(
    `SELECT kind, count(*)::int AS n FROM surveillance_items WHERE patient_id = 'P-YEARS-GAP' AND status = 'missed'
      GROUP BY kind ORDER BY kind`,
  );
  // visits and chest at months 3, 6, 9 are past their windows (month 12's window is still open): 2 missed each; MRI 6 only
  expect(missed.rows).toEqual([
    { kind: 'chest-imaging', n: 2 },
    { kind: 'clinic-visit', n: 2 },
  ]);
  expect(report.itemsMissed).toBeGreaterThanOrEqual(4); // (other patients of this file may add theirs)
});
