/**
 * The end-to-end checks of the normal path, shared by the scale-out tests (Redis Cluster, Redis Sentinel): events
 * applied once, each patient's tasks opened, routed to their team and emailed once over SMTP to the member they went
 * to, and no patient data in any email.
 */
import type { ParsedMail } from 'mailparser';
import type { Pool } from 'pg';
import type { ClinicalEvent } from '@app/contracts';
import { marginPositiveJourney } from '../support/events';
import type { TestSmtpServer } from '../support/smtp';

/** `n` patients, each registered, marginally excised and reported R1: three events and three tasks per patient. */
export function marginPositiveCohort(label: string, n: number): ClinicalEvent[][] {
  return Array.from({ length: n }, (_, i) => marginPositiveJourney(`${label}-${i}`, `P-${label}-${i}`));
}

/** What one margin-positive journey opens, and the team each task goes to (DEFAULT_ROUTING). */
export const JOURNEY_TASKS = [
  'mdt-review/R-MARGIN-R1 → tumour-board',
  'mdt-review/R-MDT-NEW → tumour-board',
  're-excision-review/R-MARGIN-R1 → surgical-oncology',
];

/** The event log holds each of these events exactly once, and no other event. */
export async function expectLoggedOnce(pool: Pool, eventIds: string[]): Promise<void> {
  const { rows } = await pool.query<{ event_id: string; n: number }>(
    'SELECT event_id, count(*)::int AS n FROM clinical_events GROUP BY event_id',
  );
  expect(rows.filter((r) => r.n !== 1)).toEqual([]);
  expect(rows.map((r) => r.event_id).sort()).toEqual([...eventIds].sort());
}

interface RoutedTask {
  patient_id: string;
  task_id: string;
  task: string;
  assignee_email: string | null;
  notifications: { id: string; email: string; status: string }[];
}

/** Every task of these patients, who it went to, and its emails. */
export function routedTasks(pool: Pool, patientIds: string[]): Promise<RoutedTask[]> {
  return pool
    .query<RoutedTask>(
      `SELECT t.patient_id, t.id AS task_id, t.type || '/' || t.rule_id || ' → ' || coalesce(t.team_code, '-') AS task,
              m.email AS assignee_email,
              coalesce((SELECT json_agg(json_build_object('id', n.id, 'email', n.email, 'status', n.status))
                          FROM notifications n WHERE n.task_id = t.id), '[]') AS notifications
         FROM tasks t LEFT JOIN team_members m ON m.id = t.assignee_id
        WHERE t.patient_id = ANY($1)`,
      [patientIds],
    )
    .then((r) => r.rows);
}

/** Routed, and its email accepted by the SMTP server. */
export const settled = (t: RoutedTask) => t.assignee_email !== null && t.notifications.some((n) => n.status === 'sent');

/**
 * Waits until every task of these patients is routed and its email sent, or until nothing has moved for `quietMs`
 * (so a slow path is told apart from a lost job), and returns them.
 */
export async function tasksSettled(pool: Pool, patientIds: string[], quietMs = 5000): Promise<RoutedTask[]> {
  const expected = patientIds.length * JOURNEY_TASKS.length;
  let [last, changedAt] = [-1, Date.now()];
  for (;;) {
    const rows = await routedTasks(pool, patientIds);
    const done = rows.filter(settled).length;
    if (done === expected && rows.length === expected) return rows;
    if (done !== last) [last, changedAt] = [done, Date.now()];
    else if (Date.now() - changedAt > quietMs) return rows;
    await new Promise((r) => setTimeout(r, 250));
  }
}

const recipients = (m: ParsedMail) =>
  (Array.isArray(m.to) ? m.to : m.to ? [m.to] : []).flatMap((a) => a.value.map((v) => v.address));

/**
 * Each patient has exactly the journey's three tasks, routed to the right team, to a member of it, with one email
 * to that member received by the SMTP server, naming the task and no patient data.
 */
export function expectRoutedAndEmailed(rows: RoutedTask[], patientIds: string[], smtp: TestSmtpServer): void {
  const byPatient = new Map(patientIds.map((p) => [p, [] as string[]]));
  for (const row of rows) byPatient.get(row.patient_id)?.push(row.task);
  for (const [patient, tasks] of byPatient)
    expect({ patient, tasks: tasks.sort() }).toEqual({ patient, tasks: JOURNEY_TASKS });

  const mails = new Map<string, ParsedMail[]>();
  for (const m of smtp.messages) {
    const id = String(m.headers.get('x-notification-id') ?? '');
    mails.set(id, [...(mails.get(id) ?? []), m]);
  }
  for (const row of rows) {
    expect(row.assignee_email).not.toBeNull();
    expect(row.notifications.map((n) => [n.email, n.status])).toEqual([[row.assignee_email, 'sent']]);
    const received = mails.get(row.notifications[0].id) ?? [];
    expect({ task: row.task_id, to: received.map(recipients) }).toEqual({
      task: row.task_id,
      to: [[row.assignee_email]],
    });
    expect(received[0].text).toContain(row.task_id);
  }
  const everything = smtp.messages.map((m) => `${m.subject}\n${m.text}`).join('\n');
  for (const patient of patientIds) expect(everything).not.toContain(patient);
}
