/**
 * WORKER_ROLES: email in a process of its own. One worker takes `events,timers`, another `notifications`: the first
 * applies events and never routes or emails; the second routes and emails and never applies an event. With the
 * notifications worker gone, tasks wait unrouted (nothing lost); a new one routes them and sends each email once.
 */
import type { INestApplicationContext } from '@nestjs/common';
import { chronological, generateCohort } from '@app/cohort';
import { loadConfig } from '@app/config';
import { ClinicalEventsProcessor } from '../../apps/worker/src/clinical-events/clinical-events.processor';
import { NotificationsProcessor } from '../../apps/worker/src/notifications/notifications.processor';
import { TimersProcessor } from '../../apps/worker/src/timers/timers.processor';
import { seedDemoTeams } from '../support/api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { UpstreamPublisher, uniquePrefix, waitFor } from '../support/queues';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { startWorker } from '../support/worker';

jest.setTimeout(120_000);

let db: TestDatabase;
let upstream: UpstreamPublisher;
let smtp: SmtpSink;
let prefix: string;
const running: INestApplicationContext[] = [];

async function worker(roles: string): Promise<INestApplicationContext> {
  const app = await startWorker({ databaseUrl: db.url, prefix, config: { WORKER_ROLES: roles, SMTP_URL: smtp.url } });
  running.push(app);
  return app;
}

beforeAll(async () => {
  db = await createTestDatabase('roles');
  await seedDemoTeams(db.pool);
  prefix = uniquePrefix('roles');
  upstream = new UpstreamPublisher(prefix);
  smtp = await startSmtpSink();
});
afterAll(async () => {
  for (const app of running) await app.close().catch(() => undefined);
  await upstream?.destroy();
  await smtp?.stop();
  await db?.drop();
});

const count = (sql: string) => db.pool.query<{ n: number }>(sql).then((r) => r.rows[0].n);
const OPEN = `status IN ('requested', 'accepted', 'in-progress', 'on-hold')`;

it('refuses a role it does not know, naming the setting', () => {
  expect(() => loadConfig({ WORKER_ROLES: 'events,email' })).toThrow(/WORKER_ROLES/);
  expect(() => loadConfig({ WORKER_ROLES: 'events,,timers' })).toThrow(/WORKER_ROLES/);
  expect(loadConfig({ WORKER_ROLES: 'notifications' }).WORKER_ROLES).toBe('notifications');
});

it('splits the work: events in one process, routing and email in another; a gap loses nothing', async () => {
  const events = await worker('events,timers');
  let email = await worker('notifications');
  // each process has the processors of its roles and no others
  expect(events.get(ClinicalEventsProcessor)).toBeDefined();
  expect(events.get(TimersProcessor)).toBeDefined();
  expect(() => events.get(NotificationsProcessor)).toThrow();
  expect(email.get(NotificationsProcessor)).toBeDefined();
  expect(() => email.get(ClinicalEventsProcessor)).toThrow();
  expect(() => email.get(TimersProcessor)).toThrow();

  const cohort = generateCohort({ patients: 12, seed: 77, idPrefix: 'roles' });
  const all = chronological(cohort);
  const half = Math.floor(all.length / 2);
  await upstream.publish(all.slice(0, half));
  await waitFor(
    () => count(`SELECT count(*)::int AS n FROM clinical_events`),
    (n) => n === half,
    { timeoutMs: 60_000, what: `${half} events applied` },
  );
  await waitFor(
    () => count(`SELECT count(*)::int AS n FROM tasks WHERE ${OPEN} AND assignee_id IS NULL`),
    (n) => n === 0,
    { timeoutMs: 60_000, what: 'every open task routed' },
  );
  const firstOpen = await count(`SELECT count(*)::int AS n FROM tasks WHERE ${OPEN}`);
  expect(firstOpen).toBeGreaterThan(0);

  // the email process goes away: events still apply, their tasks wait for routing
  await email.close();
  running.splice(running.indexOf(email), 1);
  await upstream.publish(all.slice(half));
  await waitFor(
    () => count(`SELECT count(*)::int AS n FROM clinical_events`),
    (n) => n === all.length,
    { timeoutMs: 60_000, what: `${all.length} events applied` },
  );
  const waiting = await count(`SELECT count(*)::int AS n FROM tasks WHERE ${OPEN} AND assignee_id IS NULL`);
  expect(waiting).toBeGreaterThan(0);

  // a new email process routes them and sends every email once
  email = await worker('notifications');
  await waitFor(
    () => count(`SELECT count(*)::int AS n FROM tasks WHERE ${OPEN} AND assignee_id IS NULL`),
    (n) => n === 0,
    { timeoutMs: 60_000, what: 'the waiting tasks routed' },
  );
  await waitFor(
    () => count(`SELECT count(*)::int AS n FROM notifications WHERE status = 'pending'`),
    (n) => n === 0,
    { timeoutMs: 60_000, what: 'no email pending' },
  );
  const sent = await count(`SELECT count(*)::int AS n FROM notifications WHERE status = 'sent'`);
  expect(sent).toBeGreaterThan(0);
  await smtp.waitUntil((total) => total >= sent, 10_000);
  expect(smtp.total).toBe(sent);
  expect([...smtp.received.values()].every((times) => times === 1)).toBe(true);
});
