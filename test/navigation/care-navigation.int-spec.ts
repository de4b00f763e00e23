/**
 * Every task reaches a person (issue: care navigators): routed to its team and navigator, announced by email over a
 * real SMTP server, worked through its lifecycle with an audit trail, escalated when nobody accepts it
 * (R-LR-ESCALATE step 5) — also after Redis forgot every timer — and silenced when the patient dies (R-DECEASED).
 * Real Redis (a server of this test's own, so it can be emptied), real PostgreSQL, real SMTP; time is a fake clock.
 */
import type { INestApplicationContext } from '@nestjs/common';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import type { ParsedMail } from 'mailparser';
import { TIMERS_QUEUE, type ClinicalEvent } from '@app/contracts';
import { CareTaskStore, DeadLetterStore, FakeClock, NotificationStore, TaskActionRefused } from '@app/store';
import { OutboxRelay } from '../../apps/worker/src/outbox-relay/outbox-relay.service';
import { TimersProcessor } from '../../apps/worker/src/timers/timers.processor';
import { createTestDatabase, memberOpenTaskCounts, type TestDatabase } from '../support/database';
import { clinicalEvent, marginPositiveJourney } from '../support/events';
import { eventsLogged, UpstreamPublisher, uniquePrefix, waitFor } from '../support/queues';
import { startOwnRedis, type OwnRedis } from '../support/redis-server';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { emailOf, seedTestTeams, STAFF, type StaffName } from '../support/teams';
import { startWorker } from '../support/worker';

const NOW = '2030-06-01T08:00:00.000Z';
const HOUR = 3_600_000;
const clock = new FakeClock(new Date(NOW));
let db: TestDatabase;
let redis: OwnRedis;
let smtp: TestSmtpServer;
let upstream: UpstreamPublisher;
let worker: INestApplicationContext;
let tasks: CareTaskStore;

beforeAll(async () => {
  db = await createTestDatabase('navigation');
  await seedTestTeams(db.pool);
  smtp = await startSmtpServer();
  redis = await startOwnRedis();
  const prefix = uniquePrefix('nav');
  upstream = new UpstreamPublisher(prefix, redis.url);
  worker = await startWorker({
    databaseUrl: db.url,
    prefix,
    clock,
    config: { REDIS_URL: redis.url, SMTP_URL: smtp.url },
  });
  tasks = worker.get(CareTaskStore);
});
afterAll(async () => {
  await worker.close();
  await upstream.queue.close();
  await redis.stop();
  await smtp.close();
  await db.drop();
});

interface TaskRow {
  id: string;
  type: string;
  priority: string;
  status: string;
  rule_id: string;
  team_code: string | null;
  assignee_id: string | null;
  escalation_level: number;
}
const tasksOf = async (patientId: string) =>
  (
    await db.pool.query<TaskRow>(
      `SELECT id, type, priority, status, rule_id, team_code, assignee_id, escalation_level FROM tasks
        WHERE patient_id = $1 ORDER BY type, id`,
      [patientId],
    )
  ).rows;
const routedTasks = (patientId: string, count: number) =>
  waitFor(
    () => tasksOf(patientId),
    (rows) => rows.length === count && rows.every((t) => t.assignee_id !== null),
    { what: `${count} routed tasks of ${patientId}` },
  );
const staffById = (id: string | null): StaffName | undefined =>
  (Object.keys(STAFF) as StaffName[]).find((name) => STAFF[name].id === id);
const recipients = (mails: ParsedMail[]) =>
  mails.flatMap((m) => (Array.isArray(m.to) ? m.to : m.to ? [m.to] : []).flatMap((a) => a.value.map((v) => v.address)));
const mailsAbout = (taskId: string) => smtp.messages.filter((m) => m.text?.includes(taskId));
const notificationId = (m: ParsedMail) => String(m.headers.get('x-notification-id') ?? '');
const escalationMails = (taskId: string) =>
  mailsAbout(taskId).filter((m) => notificationId(m).startsWith(`escalated.${taskId}.`));
const notificationsSettled = () =>
  waitFor(
    async () =>
      (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM notifications WHERE status = 'pending'`))
        .rows[0].n,
    (n) => n === 0,
    { what: 'every notification sent' },
  );
const published = async (events: ClinicalEvent[]) => {
  await upstream.publish(events);
  await eventsLogged(
    db.pool,
    events.map((e) => e.eventId),
  );
};

/** Registration (care team sarcoma-north), wide excision, R0 low-grade result: surveillance; then a local recurrence. */
function recurrenceJourney(prefix: string, patientId: string): ClinicalEvent[] {
  return [
    clinicalEvent(`${prefix}-1`, patientId, 'patient.registered', '2025-01-06T09:00:00Z', {
      primarySite: 'thigh',
      diagnosisDate: '2025-01-03',
      careTeam: 'sarcoma-north',
    }),
    clinicalEvent(`${prefix}-2`, patientId, 'surgery.performed', '2025-02-03T10:00:00Z', {
      procedure: 'wide-excision',
      performedAt: '2025-02-03T10:00:00Z',
    }),
    clinicalEvent(`${prefix}-3`, patientId, 'pathology.reported', '2025-02-10T14:30:00Z', {
      reportId: `RPT-${prefix}`,
      status: 'final',
      margin: 'R0',
      grade: 1,
      sizeCm: 3,
      depth: 'superficial',
      histology: 'myxoid liposarcoma',
    }),
    clinicalEvent(`${prefix}-4`, patientId, 'recurrence.detected', '2030-05-31T10:00:00Z', { kind: 'local' }),
  ];
}

describe('routing and email', () => {
  it('routes each task to its team and least-loaded member, and emails the assignee with no patient data', async () => {
    const journey = marginPositiveJourney('nav-r1', 'P-NAV-R1');
    await published(journey);
    const rows = await routedTasks('P-NAV-R1', 3);
    expect(rows.map((t) => `${t.type}/${t.rule_id} → ${t.team_code}/${staffById(t.assignee_id)}`).sort()).toEqual([
      'mdt-review/R-MARGIN-R1 → tumour-board/boardCoordinator',
      'mdt-review/R-MDT-NEW → tumour-board/boardCoordinator',
      're-excision-review/R-MARGIN-R1 → surgical-oncology/surgeon',
    ]);
    await notificationsSettled();
    for (const task of rows) {
      const mails = mailsAbout(task.id);
      expect(recipients(mails)).toEqual([emailOf(staffById(task.assignee_id)!)]);
      expect(mails[0].subject).toContain(task.type);
      expect(mails[0].text).toContain(task.rule_id);
    }
    // no patient-identifying field, no report number, no clinical free text in any email
    const everything = smtp.messages.map((m) => `${m.subject}\n${m.text}\n${m.html || ''}`).join('\n');
    for (const secret of ['P-NAV-R1', 'RPT-nav-r1', 'thigh', 'myxofibrosarcoma', '2025-01-03'])
      expect(everything).not.toContain(secret);
  });

  it('a lifecycle action is checked by the server, recorded with who and why, and a rejection is routed again', async () => {
    const all = await tasksOf('P-NAV-R1');
    const mdtMargin = all.find((t) => t.rule_id === 'R-MARGIN-R1' && t.type === 'mdt-review')!;
    const reExcision = all.find((t) => t.type === 're-excision-review')!;
    const surgeon = { role: 'navigator' as const, memberId: STAFF.surgeon.id, teamCode: 'surgical-oncology' };
    const outsider = { role: 'navigator' as const, memberId: STAFF.navA.id, teamCode: 'navigators' };
    await expect(tasks.act(reExcision.id, 'accept', outsider, {}, clock.now())).rejects.toMatchObject({ status: 403 });
    await tasks.act(reExcision.id, 'accept', surgeon, {}, clock.now());
    const illegal = tasks.act(reExcision.id, 'complete', surgeon, {}, clock.now());
    await expect(illegal).rejects.toBeInstanceOf(TaskActionRefused);
    await expect(illegal).rejects.toMatchObject({ status: 409 });
    expect((await tasksOf('P-NAV-R1')).find((t) => t.id === reExcision.id)?.status).toBe('accepted');
    await tasks.act(reExcision.id, 'start', surgeon, {}, clock.now());
    await tasks.act(reExcision.id, 'complete', surgeon, {}, clock.now());
    const history = await db.pool.query<{ actor: string; action: string; to_status: string }>(
      'SELECT actor, action, to_status FROM task_history WHERE task_id = $1 ORDER BY id',
      [reExcision.id],
    );
    expect(history.rows.map((h) => `${h.action}:${h.to_status}`)).toEqual([
      'routed:requested',
      'accept:accepted',
      'start:in-progress',
      'complete:completed',
    ]);
    expect(history.rows.slice(1).every((h) => h.actor === STAFF.surgeon.id)).toBe(true);

    // The coordinator rejects: back to routing, to the only other member who can take it (the lead), who is told.
    const coordinator = { role: 'navigator' as const, memberId: STAFF.boardCoordinator.id, teamCode: 'tumour-board' };
    await expect(tasks.act(mdtMargin.id, 'reject', coordinator, {}, clock.now())).rejects.toMatchObject({
      status: 422,
    });
    await tasks.act(mdtMargin.id, 'reject', coordinator, { reason: 'conflict of interest' }, clock.now());
    const rerouted = (await tasksOf('P-NAV-R1')).find((t) => t.id === mdtMargin.id)!;
    expect({ status: rerouted.status, assignee: staffById(rerouted.assignee_id) }).toEqual({
      status: 'requested',
      assignee: 'boardLead',
    });
    await notificationsSettled();
    expect(recipients(mailsAbout(mdtMargin.id))).toContain(emailOf('boardLead'));
  });
});

describe('R-LR-ESCALATE step 5: the escalation chain', () => {
  it('unaccepted urgent tasks go to the navigator lead at 24 h and the clinical lead at 48 h; accepting stops it', async () => {
    await published(recurrenceJourney('nav-lr', 'P-NAV-LR'));
    // the new diagnosis' MDT review (R-MDT-NEW) and the recurrence's three urgent tasks
    const urgent = (await routedTasks('P-NAV-LR', 4)).filter((t) => t.rule_id === 'R-LR-ESCALATE');
    expect(urgent.map((t) => `${t.type} → ${staffById(t.assignee_id)}`).sort()).toEqual([
      'imaging-order → northNav',
      'imaging-order → northNav',
      'mdt-review → boardCoordinator',
    ]);
    await notificationsSettled();
    // urgent: the navigator lead hears of each new task too; the care team gets the recurrence alert (step 3)
    for (const task of urgent)
      expect(recipients(mailsAbout(task.id))).toContain(
        emailOf(task.team_code === 'tumour-board' ? 'boardLead' : 'northLead'),
      );
    const alerts = smtp.messages.filter((m) => m.text?.includes('8.4'));
    expect(new Set(recipients(alerts))).toEqual(
      new Set([emailOf('northNav'), emailOf('northLead'), emailOf('northClinicalLead'), emailOf('boardCoordinator')]),
    );

    const [accepted, ...unaccepted] = urgent.sort(
      (a, b) => (a.type === 'imaging-order' ? -1 : 1) - (b.type === 'imaging-order' ? -1 : 1),
    );
    await tasks.act(
      accepted.id,
      'accept',
      { role: 'navigator', memberId: STAFF.northNav.id, teamCode: 'sarcoma-north' },
      {},
      clock.now(),
    );

    // 24 h: the timers the outbox wrote fire (promoted now instead of waiting a real day) and re-read the tasks.
    clock.advance(24 * HOUR);
    const timers = worker.get<Queue>(getQueueToken(TIMERS_QUEUE));
    const delayed = (await timers.getDelayed()).filter((j) => j.name === 'task-escalation');
    expect(delayed.map((j) => j.id).sort()).toEqual(
      urgent.flatMap((t) => [`escalate.${t.id}.navigator-lead`, `escalate.${t.id}.clinical-lead`]).sort(),
    );
    for (const job of delayed.filter((j) => j.id?.endsWith('navigator-lead'))) await job.promote();
    await waitFor(
      () => tasksOf('P-NAV-LR'),
      (rows) => unaccepted.every((u) => rows.find((t) => t.id === u.id)?.escalation_level === 1),
      { what: 'level-1 escalations' },
    );
    expect((await tasksOf('P-NAV-LR')).find((t) => t.id === accepted.id)?.escalation_level).toBe(0);
    await notificationsSettled();
    for (const task of unaccepted) {
      const lead = task.team_code === 'tumour-board' ? 'boardLead' : 'northLead';
      expect(recipients(escalationMails(task.id))).toEqual(
        expect.arrayContaining([emailOf(lead), emailOf(staffById(task.assignee_id)!)]),
      );
    }

    // 48 h: this time the sweeper finds it (same check, other path); the accepted task is never escalated.
    clock.advance(24 * HOUR);
    const report = await worker.get(TimersProcessor).sweep();
    expect(report.escalations).toBe(2);
    await notificationsSettled();
    for (const task of unaccepted) {
      const clinicalLead = task.team_code === 'tumour-board' ? 'boardClinicalLead' : 'northClinicalLead';
      expect(recipients(escalationMails(task.id))).toContain(emailOf(clinicalLead));
    }
    expect(escalationMails(accepted.id)).toEqual([]);
    expect((await worker.get(TimersProcessor).sweep()).escalations).toBe(0);
  });
});

describe('Redis forgets, PostgreSQL does not (DESIGN invariant 6)', () => {
  it('after Redis is emptied the sweeper escalates on time, routes tasks whose job was lost, and sends their email', async () => {
    clock.set(NOW);
    await published(recurrenceJourney('nav-fl', 'P-NAV-FLUSH'));
    const urgent = (await routedTasks('P-NAV-FLUSH', 4)).filter((t) => t.rule_id === 'R-LR-ESCALATE');
    await notificationsSettled();
    const timers = worker.get<Queue>(getQueueToken(TIMERS_QUEUE));
    expect((await timers.getDelayed()).some((j) => j.id?.includes(urgent[0].id))).toBe(true);

    await redis.flushAll();
    expect(await timers.getDelayedCount()).toBe(0); // the escalation timers and the sweep scheduler are gone

    // Tasks whose tasks-created job is lost: written, relayed, then forgotten by Redis before anyone routed them.
    const relay = worker.get(OutboxRelay);
    await relay.onApplicationShutdown();
    await published(marginPositiveJourney('nav-lost', 'P-NAV-LOST'));
    await db.pool.query('DELETE FROM outbox');
    relay.onApplicationBootstrap();
    const lost = await tasksOf('P-NAV-LOST');
    expect(lost.map((t) => t.assignee_id)).toEqual([null, null, null]);

    clock.advance(24 * HOUR);
    const report = await worker.get(TimersProcessor).sweep();
    console.log(
      JSON.stringify(report),
      JSON.stringify(
        (
          await db.pool.query(
            'SELECT patient_id, type, escalation_level, accepted_at, created_at, assignee_id FROM tasks WHERE escalate OR assignee_id IS NULL',
          )
        ).rows,
      ),
    );
    expect(report).toMatchObject({ escalations: 3, routed: 3, unroutable: 0 });
    const after = await tasksOf('P-NAV-FLUSH');
    expect(
      after
        .filter((t) => t.escalation_level === 1)
        .map((t) => t.id)
        .sort(),
    ).toEqual(urgent.map((t) => t.id).sort());
    expect((await tasksOf('P-NAV-LOST')).every((t) => t.assignee_id !== null)).toBe(true);
    await notificationsSettled();
    for (const task of lost) expect(mailsAbout(task.id)).toHaveLength(1);
    for (const task of urgent) expect(escalationMails(task.id).length).toBeGreaterThan(0);
  });
});

describe('a task nobody can take', () => {
  it('stays unrouted and is counted for the operator until someone can take it; then the sweeper routes it', async () => {
    clock.set(NOW);
    const absent = ['navigators', 'sarcoma-north'];
    await db.pool.query('UPDATE team_members SET active = false WHERE team_code = ANY($1)', [absent]);
    // a second registration does not fit: a data-quality review for the navigators (R-UNEXPECTED)
    await published([
      clinicalEvent('nav-r1-again', 'P-NAV-R1', 'patient.registered', '2025-03-01T09:00:00Z', {
        primarySite: 'thigh',
        diagnosisDate: '2025-01-03',
      }),
    ]);
    const review = await waitFor(
      async () => (await tasksOf('P-NAV-R1')).find((t) => t.type === 'data-quality-review'),
      (t) => t !== undefined,
      { what: 'the data-quality review' },
    );
    clock.advance(5 * 60_000);
    const timers = worker.get(TimersProcessor);
    expect(await timers.sweep()).toMatchObject({ routed: 0, unroutable: 1 });
    expect((await tasksOf('P-NAV-R1')).find((t) => t.id === review!.id)?.assignee_id).toBeNull();

    await db.pool.query('UPDATE team_members SET active = true WHERE team_code = ANY($1)', [absent]);
    expect(await timers.sweep()).toMatchObject({ routed: 1, unroutable: 0 });
    const routed = (await tasksOf('P-NAV-R1')).find((t) => t.id === review!.id)!;
    expect({ team: routed.team_code, who: staffById(routed.assignee_id) }).toEqual({
      team: 'sarcoma-north',
      who: 'northNav',
    });
  });
});

describe('email failures', () => {
  it('a transient SMTP refusal (451) is retried and the email arrives exactly once', async () => {
    smtp.failNext(1, 451, 'greylisted, try again later');
    await published(marginPositiveJourney('nav-451', 'P-NAV-451'));
    const rows = await routedTasks('P-NAV-451', 3);
    await notificationsSettled();
    for (const task of rows) expect(mailsAbout(task.id)).toHaveLength(1);
    expect(smtp.rejectedCount).toBeGreaterThanOrEqual(1);
  });

  it('a permanent refusal (550) is marked failed and dead-lettered for leads; resending after a fix delivers it', async () => {
    const before = smtp.rejectedCount;
    smtp.failNext(1, 550, 'mailbox unavailable');
    await published(marginPositiveJourney('nav-550', 'P-NAV-550'));
    const rows = await routedTasks('P-NAV-550', 3);
    const failed = await waitFor(
      async () =>
        (
          await db.pool.query<{ id: string; task_id: string }>(
            `SELECT id, task_id FROM notifications WHERE status = 'failed' AND task_id = ANY($1)`,
            [rows.map((t) => t.id)],
          )
        ).rows,
      (r) => r.length === 1,
      { what: 'one failed notification' },
    );
    expect(smtp.rejectedCount).toBe(before + 1);
    await notificationsSettled();
    const letters = await worker.get(DeadLetterStore).list({ limit: 50, offset: 0 });
    const letter = letters.items.find((l) => l.channel === 'email')!;
    expect(letter.payload).toEqual({ notificationId: failed[0].id, kind: 'task-assigned', taskId: failed[0].task_id });
    expect(letter.errors[0]).toMatchObject({ field: 'email', reason: expect.stringContaining('550') });
    expect(JSON.stringify(letter)).not.toContain('P-NAV-550');
    expect(mailsAbout(failed[0].task_id)).toHaveLength(0);

    expect(await worker.get(NotificationStore).resend(failed[0].id, clock.now())).toBe(true);
    await notificationsSettled();
    expect(mailsAbout(failed[0].task_id)).toHaveLength(1);
    expect(await worker.get(NotificationStore).resend(failed[0].id, clock.now())).toBe(false);
  });
});

describe('R-DECEASED: nothing more for a patient who died', () => {
  it('cancels every open task and surveillance item; later sweeps open nothing and email nobody about them', async () => {
    clock.set(NOW);
    const journey = recurrenceJourney('nav-dd', 'P-NAV-DEAD').slice(0, 3);
    await published(journey);
    await notificationsSettled();
    // the sweeper writes the plan up to a year ahead and chases what was missed since 2025; its emails are still
    // waiting to go out (the relay is paused) when the patient dies
    const relay = worker.get(OutboxRelay);
    await relay.onApplicationShutdown();
    await worker.get(TimersProcessor).sweep();
    const before = await tasksOf('P-NAV-DEAD');
    const chased = before.filter((t) => t.type === 'surveillance-overdue');
    expect(chased.length).toBeGreaterThan(0);
    const mailsBeforeDeath = smtp.messages.length;

    await published([clinicalEvent('nav-dd-9', 'P-NAV-DEAD', 'patient.deceased', '2030-05-30T10:00:00Z', {})]);
    const closed = await tasksOf('P-NAV-DEAD');
    expect(closed.filter((t) => ['requested', 'accepted', 'in-progress', 'on-hold'].includes(t.status))).toEqual([]);
    const planned = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM surveillance_items WHERE patient_id = 'P-NAV-DEAD' AND status = 'planned'`,
    );
    expect(planned.rows[0].n).toBe(0);
    relay.onApplicationBootstrap();
    await notificationsSettled();
    // the pending emails about the chased items were not sent: their tasks closed first
    const skipped = await db.pool.query<{ status: string }>(
      'SELECT DISTINCT status FROM notifications WHERE task_id = ANY($1)',
      [chased.map((t) => t.id)],
    );
    expect(skipped.rows).toEqual([{ status: 'skipped' }]);
    expect(smtp.messages.length).toBe(mailsBeforeDeath);

    const mailsBefore = smtp.messages.length;
    clock.advance(2 * 365 * 24 * HOUR);
    await worker.get(TimersProcessor).sweep();
    expect((await tasksOf('P-NAV-DEAD')).length).toBe(closed.length);
    await notificationsSettled();
    const ids = closed.map((t) => t.id);
    expect(smtp.messages.slice(mailsBefore).filter((m) => ids.some((id) => m.text?.includes(id)))).toEqual([]);
  });
});

describe("routing's load", () => {
  it("keeps each member's open-task count through everything above (routed, accepted, completed, rejected, reassigned, escalated, closed by events), and the sweeper's fold changes nothing", async () => {
    const before = await memberOpenTaskCounts(db.pool);
    expect(Object.keys(before.counted).length).toBeGreaterThan(2);
    expect(before.kept).toEqual(before.counted);
    const deltas = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM member_open_task_deltas');
    await worker.get(TimersProcessor).sweep();
    const after = await memberOpenTaskCounts(db.pool);
    expect(after.kept).toEqual(after.counted);
    const left = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM member_open_task_deltas');
    // the tests above swept too (each pass folds): whatever was left is folded now
    expect(left.rows[0].n).toBeLessThanOrEqual(deltas.rows[0].n);
    expect(left.rows[0].n).toBe(0);
  });

  it('is kept when tasks are deleted or the table truncated (an operator clean-up, a test)', async () => {
    const { rows } = await db.pool.query<{ id: string }>(
      `SELECT id FROM tasks WHERE assignee_id IS NOT NULL AND status = 'requested' LIMIT 2`,
    );
    expect(rows).toHaveLength(2);
    await db.pool.query('DELETE FROM task_history WHERE task_id = ANY($1)', [rows.map((r) => r.id)]);
    await db.pool.query('DELETE FROM notifications WHERE task_id = ANY($1)', [rows.map((r) => r.id)]);
    await db.pool.query('DELETE FROM tasks WHERE id = ANY($1)', [rows.map((r) => r.id)]);
    const afterDelete = await memberOpenTaskCounts(db.pool);
    expect(afterDelete.kept).toEqual(afterDelete.counted);
    await db.pool.query('TRUNCATE tasks CASCADE');
    expect(await memberOpenTaskCounts(db.pool)).toEqual({ kept: {}, counted: {} });
  });
});
