/**
 * Privacy (issue 6; DESIGN invariant 7: no patient-identifying data leaves the service). The demo's cohort (60
 * patients, seed 1) goes through a real api process and a real worker process, both logging JSON at debug level, with
 * emails to a real SMTP server: a third over POST /events, the rest on the queue with their pathology results as HL7 v2
 * over MLLP (PID-5 name, PID-7 date of birth) or FHIR bundles (Patient.name, birthDate), plus refused events that put a
 * name and a date of birth in unknown fields. Then every log line of both processes, every email (headers and bodies)
 * and every key of the notifications and timers queues in Redis is searched for every medical record number, name and
 * date of birth: zero hits. The same identifiers are in PostgreSQL (the raw messages, the dead letters), which is where
 * they belong, so the search is known to look for something that came in.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { chronological, generateCohort, type SyntheticPatient } from '@app/cohort';
import type { PathologyReportedPayload } from '@app/contracts';
import { NOTIFICATIONS_QUEUE, TIMERS_QUEUE, CLINICAL_EVENTS_QUEUE } from '@app/contracts';
import { redisConnection } from '@app/platform';
import { pathologyBundle } from '../../libs/interop/src/fhir/testing';
import { sarcomaOru } from '../../libs/interop/src/hl7v2/testing';
import { seedDemoTeams } from '../support/api';
import { spawnApiProcess } from '../support/api-process';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { MllpClient } from '../support/mllp';
import { REDIS_URL, UpstreamPublisher, uniquePrefix, waitFor } from '../support/queues';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { spawnWorkerProcess } from '../support/worker';

const SYLLABLES = [
  ['Var', 'Quel', 'Mor', 'Tib', 'Lun', 'Zek'],
  ['andor', 'ibeck', 'ossen', 'ewyn', 'arth'],
];
const GIVEN = ['Aurelia', 'Bertil', 'Cosima', 'Dariusz', 'Elowen', 'Fintan', 'Greer', 'Halvard', 'Isaura', 'Jorund'];

/** The identifying data a hospital system holds for a cohort patient (fictional): MRN, name, date of birth. */
interface Person {
  mrn: string;
  given: string;
  family: string;
  dob: string;
}

function person(p: SyntheticPatient, i: number): Person {
  const family = `${SYLLABLES[0][i % 6]}${SYLLABLES[1][Math.floor(i / 6) % 5]}${i >= 30 ? 'sen' : ''}`;
  const dob = new Date(Date.UTC(1931, 0, 1) + i * 211 * 86_400_000).toISOString().slice(0, 10);
  return { mrn: p.patientId, given: GIVEN[i % GIVEN.length], family, dob };
}

/** HL7 DTM of an ISO date-time: 2025-02-10T14:30:00.000Z → 20250210143000+0000. */
const dtm = (iso: string) => `${iso.slice(0, 19).replace(/[-:T]/g, '')}+0000`;

let db: TestDatabase;
let smtp: TestSmtpServer;
let upstream: UpstreamPublisher;
let api: Awaited<ReturnType<typeof spawnApiProcess>>;
let worker: ReturnType<typeof spawnWorkerProcess>;
let prefix: string;

const LOGGING = { LOG_FORMAT: 'json', LOG_LEVEL: 'debug', LOG_HASH_KEY: 'privacy-test-key' };

beforeAll(async () => {
  db = await createTestDatabase('privacy');
  await seedDemoTeams(db.pool);
  smtp = await startSmtpServer();
  prefix = uniquePrefix('privacy');
  upstream = new UpstreamPublisher(prefix);
  worker = spawnWorkerProcess({
    databaseUrl: db.url,
    prefix,
    quiet: true,
    config: { ...LOGGING, SMTP_URL: smtp.url, OUTBOX_POLL_MS: 20, SWEEP_EVERY_MS: 5000 } as never,
  });
  api = await spawnApiProcess({ databaseUrl: db.url, prefix, env: LOGGING });
}, 150_000);
afterAll(async () => {
  await api?.stop();
  await worker?.stop();
  await upstream?.destroy();
  await smtp?.close();
  await db?.drop();
});

const HEADERS = { authorization: 'Bearer demo-integration-key', 'content-type': 'application/json' };

it('the demo cohort through api and worker: no MRN, name or date of birth in any log line, email or job', async () => {
  const cohort = generateCohort({ patients: 60, seed: 1, idPrefix: 'priv' });
  const people = cohort.map(person);
  const channel = (i: number) => (i < 20 ? 'http' : i < 40 ? 'hl7' : 'fhir');
  const byPatient = new Map(cohort.map((p, i) => [p.patientId, i]));

  // ---- in, as the hospital's systems would send it, in clinical order
  const mllp = await MllpClient.open(await mllpPort());
  let hl7Sent = 0;
  for (const event of chronological(cohort)) {
    const i = byPatient.get(event.patientId)!;
    const who = people[i];
    if (channel(i) === 'http') {
      const res = await fetch(`${api.base}/events`, { method: 'POST', headers: HEADERS, body: JSON.stringify(event) });
      expect(res.status).toBe(202);
    } else if (event.type === 'pathology.reported') {
      const report = event.payload as PathologyReportedPayload;
      if (channel(i) === 'hl7') {
        const message = sarcomaOru({
          controlId: `${event.eventId}`,
          mrn: who.mrn,
          reportId: report.reportId,
          status: report.status === 'corrected' ? 'C' : 'F',
          margin: report.margin,
          grade: report.grade,
          depth: report.depth,
          sizeCm: report.sizeCm,
          histology: report.histology,
          reportedAt: dtm(event.occurredAt),
        }).replace('Testpatient^Fictional||19700101', `${who.family}^${who.given}||${who.dob.replace(/-/g, '')}`);
        expect(message).toContain(who.family);
        const ack = await mllp.send(message);
        expect(ack[1]).toMatch(/^MSA\|(AA|AE)\|/);
        hl7Sent += 1;
      } else {
        const bundle = pathologyBundle({
          mrn: who.mrn,
          reportId: report.reportId,
          status: report.status,
          issued: event.occurredAt,
          margin: report.margin,
          grade: report.grade,
          depth: report.depth,
          sizeCm: report.sizeCm,
          histology: report.histology,
        });
        const patient = bundle.entry![0].resource as { name?: unknown; birthDate?: string };
        patient.name = [{ family: who.family, given: [who.given] }];
        patient.birthDate = who.dob;
        const res = await fetch(`${api.base}/fhir`, {
          method: 'POST',
          headers: { ...HEADERS, 'content-type': 'application/fhir+json' },
          body: JSON.stringify(bundle),
        });
        expect(res.status).toBe(200);
      }
    } else await upstream.publish([event]);
  }
  await mllp.close();
  expect(hl7Sent).toBeGreaterThan(10);
  // refused input that carries a name and a date of birth where none belongs (dead letters: stored, never logged)
  for (const [n, who] of people.slice(0, 4).entries()) {
    const bad = {
      ...cohort[n].events[0],
      eventId: `priv-bad-${n}`,
      patientName: `${who.given} ${who.family}`,
      dateOfBirth: who.dob,
    };
    if (n % 2 === 0) {
      const res = await fetch(`${api.base}/events`, { method: 'POST', headers: HEADERS, body: JSON.stringify(bad) });
      expect(res.status).toBe(400);
    } else await upstream.publishRaw('patient.registered', bad, bad.eventId);
  }

  // ---- wait until the worker is done: queue drained, outbox relayed, emails sent, quiet for a moment
  const events = new Queue(CLINICAL_EVENTS_QUEUE, { connection: redisConnection(REDIS_URL, 'worker'), prefix });
  const notifications = new Queue(NOTIFICATIONS_QUEUE, { connection: redisConnection(REDIS_URL, 'worker'), prefix });
  try {
    let quietSince = Date.now();
    let lastEmails = -1;
    await waitFor(
      async () => {
        const [e, n] = await Promise.all([
          events.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
          notifications.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
        ]);
        const { rows } = await db.pool.query<{ outbox: number; pending: number }>(
          `SELECT (SELECT count(*)::int FROM outbox) AS outbox,
                  (SELECT count(*)::int FROM notifications WHERE status = 'pending') AS pending`,
        );
        const busy =
          Object.values(e)
            .concat(Object.values(n))
            .some((c) => c > 0) || rows[0].outbox + rows[0].pending > 0;
        if (busy || smtp.messages.length !== lastEmails) quietSince = Date.now();
        lastEmails = smtp.messages.length;
        return Date.now() - quietSince;
      },
      (quietMs) => quietMs > 3000,
      { timeoutMs: 150_000, intervalMs: 250, what: 'the worker to finish the cohort' },
    );
  } finally {
    await events.close();
    await notifications.close();
  }

  // ---- everything that left the service
  const logs = `${api.output()}\n${worker.output()}`;
  const logLines = logs.split('\n').filter(Boolean);
  const nonJson = logLines.filter((l) => !l.startsWith('{'));
  expect(nonJson).toEqual([]);
  const emails = smtp.messages.map((m) =>
    [m.subject, m.text, m.html, ...[...m.headers].map(([k, v]) => `${k}: ${JSON.stringify(v)}`)].join('\n'),
  );
  const jobs = await redisDump([`${prefix}:${NOTIFICATIONS_QUEUE}:*`, `${prefix}:${TIMERS_QUEUE}:*`]);

  const identifiers = people.flatMap((p) => [
    { kind: 'MRN', text: p.mrn, pattern: new RegExp(escapeRegExp(p.mrn), 'i') },
    { kind: 'name', text: p.family, pattern: new RegExp(escapeRegExp(p.family), 'i') },
    { kind: 'date of birth', text: p.dob, pattern: new RegExp(`(?<!\\d)(${p.dob}|${p.dob.replace(/-/g, '')})(?!\\d)`) },
  ]);
  const hits = (what: string, texts: string[]) =>
    identifiers.flatMap((id) =>
      texts.filter((t) => id.pattern.test(t)).map((t) => `${what}: ${id.kind} ${id.text} in ${t.slice(0, 200)}`),
    );
  const found = [...hits('log', logLines), ...hits('email', emails), ...hits('job', jobs)];

  // the identifiers did come in: the raw messages and the dead letters hold them (PostgreSQL is where they belong)
  const stored = await db.pool.query<{ raw: number; letters: number }>(
    `SELECT (SELECT count(*)::int FROM inbound_messages WHERE raw LIKE '%' || $1 || '%') AS raw,
            (SELECT count(*)::int FROM dead_letters WHERE payload::text LIKE '%' || $2 || '%') AS letters`,
    [people[25].family, people[0].family],
  );
  expect(stored.rows[0].raw).toBeGreaterThan(0);
  expect(stored.rows[0].letters).toBeGreaterThan(0);
  // and the search looked at something: both processes logged, emails went out, jobs are in Redis
  expect(logLines.filter((l) => l.includes('"app":"worker"')).length).toBeGreaterThan(100);
  expect(logLines.filter((l) => l.includes('"app":"api"')).length).toBeGreaterThan(10);
  expect(emails.length).toBeGreaterThan(10);
  expect(jobs.length).toBeGreaterThan(10);
  process.stdout.write(
    `[privacy] ${cohort.length} patients, ${chronological(cohort).length} events (${hl7Sent} pathology results over MLLP), ` +
      `searched ${logLines.length} log lines, ${emails.length} emails, ${jobs.length} Redis values for ${identifiers.length} identifiers: ${found.length} hits\n`,
  );
  expect(found).toEqual([]);
}, 300_000);

/** The api's MLLP port, from its log line. */
async function mllpPort(): Promise<number> {
  const line = await waitFor(
    async () =>
      api
        .output()
        .split('\n')
        .find((l) => l.includes('MLLP listening on')),
    (l) => l !== undefined,
    { what: 'the MLLP listening line' },
  );
  return Number(/:(\d+)\D*$/.exec(JSON.parse(line!).msg as string)![1]);
}

/** Every value under these key patterns, whatever its Redis type, as text. */
async function redisDump(patterns: string[]): Promise<string[]> {
  const redis = new Redis(REDIS_URL);
  const out: string[] = [];
  try {
    for (const pattern of patterns) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
        cursor = next;
        for (const key of keys) {
          const type = await redis.type(key);
          if (type === 'hash') out.push(`${key} ${JSON.stringify(await redis.hgetall(key))}`);
          else if (type === 'string') out.push(`${key} ${await redis.get(key)}`);
          else if (type === 'list') out.push(`${key} ${(await redis.lrange(key, 0, -1)).join(' ')}`);
          else if (type === 'set') out.push(`${key} ${(await redis.smembers(key)).join(' ')}`);
          else if (type === 'zset') out.push(`${key} ${(await redis.zrange(key, 0, -1)).join(' ')}`);
          else if (type === 'stream') out.push(`${key} ${JSON.stringify(await redis.xrange(key, '-', '+'))}`);
        }
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
