/**
 * Email digests (EMAIL_DIGEST_AFTER, docs/navigation.md, "Many surveillance tasks at once"): a sweep that assigns a member more non-urgent
 * surveillance tasks than the threshold sends that member one email listing them, not one email each; a sweep that
 * assigns a few sends each as before; an email a crash held back goes out with the next pass. Real queue, PostgreSQL
 * and SMTP server, on a fake clock.
 */
import type { INestApplicationContext } from '@nestjs/common';
import type { ParsedMail } from 'mailparser';
import type { ClinicalEvent } from '@app/contracts';
import { DIGEST_LISTED } from '@app/notify';
import { FakeClock, PathwayReadModels } from '@app/store';
import { EmailDelivery } from '../../apps/worker/src/notifications/email-delivery';
import { TimersProcessor } from '../../apps/worker/src/timers/timers.processor';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { clinicalEvent } from '../support/events';
import { eventsLogged, UpstreamPublisher, uniquePrefix, waitFor } from '../support/queues';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { seedTestTeams } from '../support/teams';
import { startWorker } from '../support/worker';

const DAY = 86_400_000;
const START = '2030-01-20T10:00:00.000Z';
const DIGEST_AFTER = 10;
const BASE_URL = 'https://pathway.hospital.test';
const clock = new FakeClock(new Date(START));
let db: TestDatabase;
let upstream: UpstreamPublisher;
let worker: INestApplicationContext;
let smtp: TestSmtpServer;

beforeAll(async () => {
  db = await createTestDatabase('digest');
  await seedTestTeams(db.pool);
  smtp = await startSmtpServer();
  const prefix = uniquePrefix('digest');
  upstream = new UpstreamPublisher(prefix);
  worker = await startWorker({
    databaseUrl: db.url,
    prefix,
    clock,
    config: { SMTP_URL: smtp.url, EMAIL_DIGEST_AFTER: DIGEST_AFTER, PUBLIC_BASE_URL: BASE_URL },
  });
});
afterAll(async () => {
  await worker.close();
  await upstream.destroy();
  await smtp.close();
  await db.drop();
});

const at = (days: number) => new Date(Date.parse(START) + days * DAY).toISOString();

/** Registration, wide excision and an R0 high-grade result on `day`: surveillance starts then (R-SURV-START). */
function treated(patientId: string, day: number): ClinicalEvent[] {
  return [
    clinicalEvent(`${patientId}-reg`, patientId, 'patient.registered', at(day - 30), {
      primarySite: 'thigh',
      diagnosisDate: at(day - 30).slice(0, 10),
      careTeam: 'sarcoma-north',
    }),
    clinicalEvent(`${patientId}-surgery`, patientId, 'surgery.performed', at(day - 10), {
      procedure: 'wide-excision',
      performedAt: at(day - 10),
    }),
    clinicalEvent(`${patientId}-path`, patientId, 'pathology.reported', at(day), {
      reportId: `RPT-${patientId}`,
      status: 'final',
      margin: 'R0',
      grade: 3,
      sizeCm: 4,
      depth: 'superficial',
      histology: 'leiomyosarcoma',
    }),
  ];
}

async function apply(events: ClinicalEvent[]): Promise<void> {
  await upstream.publish(events);
  await eventsLogged(
    db.pool,
    events.map((e) => e.eventId),
  );
}

/** The emails of this sweep's tasks, by member: held ones, digested ones, and the rows themselves. */
async function emailRows(taskIds: string[]) {
  const { rows } = await db.pool.query<{ id: string; member_id: string; status: string; digest_id: string | null }>(
    `SELECT id, member_id, status, digest_id FROM notifications WHERE task_id = ANY($1) ORDER BY id`,
    [taskIds],
  );
  return rows;
}

/** Until the events' own work is done: no outbox row, no task unrouted, no email waiting to be sent. */
const emailsSettled = () =>
  waitFor(
    async () =>
      (
        await db.pool.query<{ n: number }>(
          `SELECT (SELECT count(*) FROM outbox) + (SELECT count(*) FROM notifications WHERE status = 'pending')
                + (SELECT count(*) FROM tasks WHERE assignee_id IS NULL AND status = 'requested') AS n`,
        )
      ).rows[0].n,
    (n) => Number(n) === 0,
    { what: 'the events routed and emailed' },
  );

const header = (mail: ParsedMail, name: string) => String(mail.headers.get(name) ?? '');

describe('the sweep that opens many surveillance tasks', () => {
  let sweptTasks: { id: string; assignee_id: string; priority: string }[];
  let digests: ParsedMail[];

  it('sends each member with more than EMAIL_DIGEST_AFTER of them one digest, and no email per task', async () => {
    const patients = Array.from({ length: 14 }, (_, n) => `P-DIGEST-${String(n).padStart(2, '0')}`);
    await apply(patients.flatMap((p) => treated(p, 0)));
    await emailsSettled();
    smtp.reset();

    // the first high-grade items fall due at 3 months; their orders open 14 days ahead (orderLeadDays)
    clock.set(new Date(at(85)));
    const report = await worker.get(TimersProcessor).sweep();
    expect(report.ordersOpened).toBeGreaterThan(DIGEST_AFTER);
    ({ rows: sweptTasks } = await db.pool.query(
      `SELECT id, assignee_id, priority FROM tasks WHERE created_at = $1 ORDER BY id`,
      [clock.now().toISOString()],
    ));
    expect(sweptTasks).toHaveLength(report.ordersOpened);
    expect(sweptTasks.every((t) => t.assignee_id !== null && t.priority !== 'urgent')).toBe(true);
    const byMember = new Map<string, string[]>();
    for (const t of sweptTasks) byMember.set(t.assignee_id, [...(byMember.get(t.assignee_id) ?? []), t.id]);
    const many = [...byMember].filter(([, ids]) => ids.length > DIGEST_AFTER);
    expect(many.length).toBeGreaterThan(0);
    expect(report.emailDigests).toBe(many.length);
    expect(report.emailsDigested).toBe(many.reduce((n, [, ids]) => n + ids.length, 0));

    const few = [...byMember].filter(([, ids]) => ids.length <= DIGEST_AFTER).flatMap(([, ids]) => ids);
    const mails = await smtp.waitForMessages(many.length + few.length, 20_000);
    digests = mails.filter((m) => m.subject?.startsWith('Worklist digest') || m.subject?.includes('Worklist digest'));
    expect(digests).toHaveLength(many.length);

    const rows = await emailRows(sweptTasks.map((t) => t.id));
    for (const [member, ids] of many) {
      const mine = rows.filter((r) => r.member_id === member);
      expect(mine.map((r) => r.status)).toEqual(ids.map(() => 'digested'));
      const digestId = mine[0].digest_id!;
      expect(mine.every((r) => r.digest_id === digestId)).toBe(true);
      const mail = digests.find((m) => header(m, 'x-notification-id') === digestId)!;
      expect(mail).toBeDefined();
      expect(mail.subject).toContain(`Worklist digest: ${ids.length} tasks assigned to you`);
      const listed = ids.slice(0, DIGEST_LISTED);
      for (const id of ids) {
        // every task is linked while they fit; the rest are on the worklist
        if (ids.length <= DIGEST_LISTED) expect(mail.text).toContain(`${BASE_URL}/tasks/${id}`);
      }
      expect(mail.text!.split('\n').filter((line) => line.startsWith('- '))).toHaveLength(listed.length);
      expect(mail.text).toContain(`${BASE_URL}/app/`);
      // no patient id in the email
      expect(mail.text).not.toMatch(/P-DIGEST/);
      // recorded sent just after SMTP accepted it
      const stored = await waitFor(
        async () =>
          (
            await db.pool.query<{ status: string; task_ids: string[] }>(
              'SELECT status, task_ids FROM notifications WHERE id = $1',
              [digestId],
            )
          ).rows[0],
        (row) => row.status === 'sent',
        { what: 'the digest recorded sent' },
      );
      expect([...stored.task_ids].sort()).toEqual([...ids].sort());
      // the task's own record says how its assignee was told, and when
      const detail = await new PathwayReadModels(db.pool).task(ids[0], clock.now());
      expect(detail!.notifications).toEqual([
        expect.objectContaining({ status: 'digested', digestId, sentAt: expect.any(String) }),
      ]);
    }
    // no per-task email for a digested task; a member with few got theirs one by one
    const perTask = mails.filter((m) => header(m, 'x-notification-id').startsWith('assigned.'));
    expect(perTask.map((m) => header(m, 'x-notification-id').split('.')[1]).sort()).toEqual([...few].sort());
  });

  it('sends a few tasks of a later pass one email each, and an email a crash held back with the next pass', async () => {
    // two more patients treated a month later: their orders open alone
    await apply([...treated('P-DIGEST-LATE-1', 30), ...treated('P-DIGEST-LATE-2', 30)]);
    await emailsSettled();
    // a crash between a pass's routing and its end left one email held (as routing with holdEmails writes it)
    const crashed = sweptTasks.find((t) => t.assignee_id === sweptTasks[0].assignee_id)!;
    await db.pool.query(
      `INSERT INTO notifications (id, kind, task_id, member_id, email, status, created_at)
       SELECT 'assigned.' || id || '.held-by-a-crash', 'task-assigned', id, assignee_id, 'crash@hospital.test', 'held', $2
         FROM tasks WHERE id = $1`,
      [crashed.id, clock.now().toISOString()],
    );
    smtp.reset();

    clock.set(new Date(at(115)));
    const report = await worker.get(TimersProcessor).sweep();
    expect(report.ordersOpened).toBeGreaterThan(0);
    expect(report.ordersOpened).toBeLessThanOrEqual(DIGEST_AFTER);
    expect(report.emailDigests).toBe(0);
    const { rows: opened } = await db.pool.query<{ id: string }>(`SELECT id FROM tasks WHERE created_at = $1`, [
      clock.now().toISOString(),
    ]);
    const mails = await smtp.waitForMessages(opened.length + 1, 20_000);
    const ids = mails.map((m) => header(m, 'x-notification-id'));
    expect(ids).toContain(`assigned.${crashed.id}.held-by-a-crash`);
    for (const t of opened) expect(ids.some((id) => id.startsWith(`assigned.${t.id}.`))).toBe(true);
    expect(mails.some((m) => m.subject?.includes('Worklist digest'))).toBe(false);
    const { rows: held } = await db.pool.query(`SELECT id FROM notifications WHERE status = 'held'`);
    expect(held).toEqual([]);
  });

  it('lists only the tasks still open when it goes out, and is not sent when none is', async () => {
    const [closedA, closedB, open] = sweptTasks.slice(0, 3).map((t) => t.id);
    const member = sweptTasks[0].assignee_id;
    await db.pool.query(`UPDATE tasks SET status = 'cancelled' WHERE id = ANY($1)`, [[closedA, closedB]]);
    await db.pool.query(
      `INSERT INTO notifications (id, kind, task_ids, member_id, email, created_at)
       VALUES ('digest.test.some-open', 'task-digest', $1, $3, 'digest@hospital.test', $4),
              ('digest.test.none-open', 'task-digest', $2, $3, 'digest@hospital.test', $4)`,
      [[closedA, closedB, open], [closedA, closedB], member, clock.now().toISOString()],
    );
    smtp.reset();
    const delivery = worker.get(EmailDelivery);
    expect(await delivery.deliver(['digest.test.some-open', 'digest.test.none-open'])).toEqual({ sent: 1, failed: 0 });
    const [mail] = await smtp.waitForMessages(1, 10_000);
    expect(header(mail, 'x-notification-id')).toBe('digest.test.some-open');
    expect(mail.subject).toBe('Worklist digest: 1 task assigned to you');
    expect(mail.text).toContain('assigned 3 tasks to you at once; 1 of them is still open');
    expect(mail.text).toContain(`/tasks/${open}`);
    expect(mail.text).not.toContain(closedA);
    const { rows } = await db.pool.query<{ status: string; last_error: string | null }>(
      `SELECT status, last_error FROM notifications WHERE id = 'digest.test.none-open'`,
    );
    expect(rows).toEqual([
      { status: 'skipped', last_error: 'every task of the digest closed before the email went out' },
    ]);
    expect(smtp.messages).toHaveLength(1);
  });
});
