/**
 * The fault suite's tools (test/faults/*.fault-spec.ts, `npm run test:faults`): one synthetic stream of clinical
 * events, a clean reference run of it, workers to break (in this process, or as OS processes to kill), a snapshot of
 * everything the service keeps in PostgreSQL and Redis, and the comparison that says what was lost, doubled or
 * different after a fault. Figures go to var/faults/results.jsonl, one JSON line per fault.
 *
 * What makes two runs comparable:
 * - the clock is fixed (FAULT_CLOCK_AT, before the cohort's first event), so nothing a worker stamps depends on
 *   when it ran, the sweeper finds nothing due, and escalation timers stay delayed (24 h away);
 * - every team has one member per role, so routing (and so every notification id) does not depend on load;
 * - emails are compared for tasks still open at the end: a task closed by a later event before its email went out
 *   is, by design, not emailed (status `skipped`), and how often that happens depends on timing, not on faults;
 * - a patient whose events the fault reordered (an event logged `late`, R-LATE-EVENT) is compared with the same
 *   events applied one by one in the order they were committed; their state must still equal the clean run's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Queue } from 'bullmq';
import { Client, type Pool } from 'pg';
import { chronological, generateCohort, SeededRandom } from '@app/cohort';
import { NOTIFICATIONS_QUEUE, TIMERS_QUEUE, type ClinicalEvent } from '@app/contracts';
import type { ServiceConfig } from '@app/config';
import { createPathway } from '@app/pathway';
import { redisConnection } from '@app/platform';
import { ClinicalEventApplier, FakeClock } from '@app/store';
import { escalationSteps } from '../../apps/worker/src/clinical-events/clinical-event-intake';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { createTestDatabase, memberOpenTaskCounts, PG_BASE_URL, type TestDatabase } from './database';
import { UpstreamPublisher, uniquePrefix } from './queues';
import { startOwnRedis } from './redis-server';
import { startSmtpSink, type SmtpSink } from './smtp-sink';
import { compileOnce } from './compile-once';

const ROOT = join(__dirname, '..', '..');
export const RESULTS_DIR = join(ROOT, 'var', 'faults');
export const RESULTS_FILE = join(RESULTS_DIR, 'results.jsonl');

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, not "${raw}"`);
  return n;
}

/**
 * Events in each fault's stream: FAULTS_EVENTS; the issue's size is 20,000, CI runs 2,000 (docs/reliability.md: the
 * suite must fit in a few minutes on a shared 2-core machine).
 */
export const FAULT_EVENTS = envInt('FAULTS_EVENTS', 2_000);
/** FAULTS_FULL=1: the slow-consumer fault queues 100,000 events instead of FAULT_EVENTS. */
export const FAULTS_FULL = process.env.FAULTS_FULL === '1';
/** Events queued for the slow-consumer fault. */
export const SLOW_CONSUMER_EVENTS = envInt('FAULTS_BACKLOG_EVENTS', FAULTS_FULL ? 100_000 : FAULT_EVENTS);
/** The clock of every worker in the suite: before the cohort's first event (2019-01-02). */
export const FAULT_CLOCK_AT = '2018-06-01T00:00:00.000Z';
const COHORT_SEED = 6;

/**
 * What every fault spec starts with: its stream's clean run to compare with (computed before the tests, or read from
 * var/faults), a clean-up list run after the file, and the time a fault may take.
 */
export function faultSuite<T extends { events: ClinicalEvent[] }>(
  stream: T,
  timeoutMs = 600_000,
): T & { cleanup: Cleanup; reference: () => Reference } {
  jest.setTimeout(timeoutMs);
  const cleanup = new Cleanup();
  let reference: Reference | undefined;
  beforeAll(async () => {
    reference = await referenceRun(stream.events);
  });
  afterAll(() => cleanup.run());
  return {
    ...stream,
    cleanup,
    reference: () => {
      if (!reference) throw new Error('the reference run has not finished (faultSuite registers it in beforeAll)');
      return reference;
    },
  };
}

/**
 * Where the random moments of a fault come from: FAULTS_SEED when set (to replay a failure), otherwise a new seed;
 * the seed is in the figures.
 */
export function faultRandom(): { seed: number; rnd: SeededRandom } {
  const seed = envInt('FAULTS_SEED', Math.floor(Math.random() * 1_000_000) + 1);
  return { seed, rnd: new SeededRandom(seed) };
}

/**
 * `events` events of a synthetic cohort, in the order upstream systems publish them (clinical time): whole patient
 * journeys (recurrences, deaths and corrected reports included), as many patients as it takes, the last few events
 * in time cut to make the count exact.
 */
export function faultStream(events = FAULT_EVENTS): ClinicalEvent[] {
  const cohort = generateCohort({ patients: Math.ceil(events / 20) + 10, seed: COHORT_SEED, idPrefix: 'flt' });
  const patients: typeof cohort = [];
  let total = 0;
  for (const patient of cohort) {
    if (total >= events) break;
    patients.push(patient);
    total += patient.events.length;
  }
  if (total < events) throw new Error(`the cohort has ${total} events, fewer than ${events}`);
  return chronological(patients).slice(0, events);
}

// ---------------------------------------------------------------------------------------------------------------
// teams: one member per role, so routing does not depend on who has the fewest tasks

const TEAM_ROLES: [string, string[]][] = [
  ['navigators', ['navigator', 'navigator-lead', 'clinical-lead']],
  ['sarcoma-north', ['navigator', 'navigator-lead', 'clinical-lead']],
  ['sarcoma-south', ['navigator', 'navigator-lead', 'clinical-lead']],
  ['surgical-oncology', ['navigator', 'navigator-lead', 'clinical-lead']],
  ['radiotherapy', ['navigator', 'navigator-lead', 'clinical-lead']],
  ['tumour-board', ['coordinator', 'navigator-lead', 'clinical-lead']],
];

export async function seedFaultTeams(pool: Pool): Promise<void> {
  let n = 0;
  for (const [team, roles] of TEAM_ROLES) {
    await pool.query('INSERT INTO care_teams (code, name) VALUES ($1, $1) ON CONFLICT (code) DO NOTHING', [team]);
    for (const role of roles) {
      n += 1;
      const id = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
      await pool.query(
        `INSERT INTO team_members (id, team_code, name, email, role) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO NOTHING`,
        [id, team, `${team} ${role}`, `${team}.${role}@hospital.test`, role],
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// cleaning up: everything a test starts is registered here and stopped in afterAll, failed test or not

export class Cleanup {
  private readonly steps: { what: string; run: () => Promise<unknown> }[] = [];

  add(what: string, run: () => Promise<unknown>): void {
    this.steps.push({ what, run });
  }

  /** Runs every step, last registered first; a failing step does not stop the others. */
  async run(): Promise<void> {
    const failures: string[] = [];
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.run();
      } catch (err) {
        failures.push(`${step.what}: ${(err as Error).message}`);
      }
    }
    if (failures.length > 0) throw new Error(`cleanup failed: ${failures.join('; ')}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// one fault's surroundings: its database, its Redis (given), an SMTP sink, the publisher and observer queues

export interface FaultEnv {
  label: string;
  db: TestDatabase;
  redisUrl: string;
  prefix: string;
  sink: SmtpSink;
  publisher: UpstreamPublisher;
  notifications: Queue;
  timers: Queue;
}

/**
 * A database with the fault teams, an SMTP sink and queues on `redisUrl`; all closed by `cleanup`. The database is
 * on the shared server unless `createDatabase` puts it elsewhere (the PostgreSQL restart fault's own server).
 */
export async function createFaultEnv(
  label: string,
  redisUrl: string,
  cleanup: Cleanup,
  createDatabase: (name: string) => Promise<TestDatabase> = createTestDatabase,
): Promise<FaultEnv> {
  const db = await createDatabase(`fault_${label}`);
  cleanup.add(`drop database ${label}`, () => db.drop());
  await seedFaultTeams(db.pool);
  const sink = await startSmtpSink();
  cleanup.add('SMTP sink', () => sink.stop());
  const prefix = uniquePrefix(`fault-${label}`);
  const publisher = new UpstreamPublisher(prefix, redisUrl);
  const connection = redisConnection(redisUrl, 'worker');
  const notifications = new Queue(NOTIFICATIONS_QUEUE, { connection, prefix });
  const timers = new Queue(TIMERS_QUEUE, { connection, prefix });
  for (const queue of [publisher.queue, notifications, timers]) {
    queue.on('error', () => undefined); // Redis going away is the point of some faults
    cleanup.add('queue', () => closeQuickly(queue));
  }
  return { label, db, redisUrl, prefix, sink, publisher, notifications, timers };
}

/** Closes a queue, and drops its connection if Redis is not there to answer. */
async function closeQuickly(queue: Queue): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    queue.close().catch(() => undefined),
    new Promise((resolve) => (timer = setTimeout(resolve, 2000))),
  ]);
  clearTimeout(timer);
  await queue.disconnect().catch(() => undefined);
}

/** A Redis of the test's own (no persistence), stopped by `cleanup`. */
export async function ownRedis(cleanup: Cleanup): Promise<string> {
  const redis = await startOwnRedis();
  cleanup.add('redis-server', () => redis.stop());
  return redis.url;
}

// ---------------------------------------------------------------------------------------------------------------
// workers

/** Collects what a worker in this process logs at warn and error (faults make it noisy on purpose). */
class CountingLogger implements LoggerService {
  errors = 0;
  warnings = 0;
  readonly last: string[] = [];
  log(): void {}
  debug(): void {}
  verbose(): void {}
  warn(message: unknown): void {
    this.warnings += 1;
    this.keep(message);
  }
  error(message: unknown): void {
    this.errors += 1;
    this.keep(message);
  }
  private keep(message: unknown): void {
    this.last.push(String(typeof message === 'object' ? JSON.stringify(message) : message).slice(0, 300));
    if (this.last.length > 20) this.last.shift();
  }
}

export interface InProcessWorker {
  app: INestApplicationContext;
  clock: FakeClock;
  logs: CountingLogger;
  close(): Promise<void>;
}

function workerConfig(env: FaultEnv, concurrency: number): Partial<ServiceConfig> {
  return {
    DATABASE_URL: env.db.url,
    REDIS_URL: env.redisUrl,
    QUEUE_PREFIX: env.prefix,
    WORKER_CONCURRENCY: concurrency,
    OUTBOX_POLL_MS: 20,
    SMTP_URL: env.sink.url,
    MAIL_OUTBOX_DIR: join(tmpdir(), `sarcoma-mail-${env.prefix}`),
    METRICS_PORT: 0,
  };
}

/** The worker app in this process, on the fault clock (a FakeClock the test may move). */
export async function startFaultWorker(
  env: FaultEnv,
  cleanup: Cleanup,
  options: { concurrency?: number; config?: Partial<ServiceConfig> } = {},
): Promise<InProcessWorker> {
  const clock = new FakeClock(new Date(FAULT_CLOCK_AT));
  const logs = new CountingLogger();
  const app = await NestFactory.createApplicationContext(
    WorkerModule.forRoot({
      config: { ...workerConfig(env, options.concurrency ?? 8), ...options.config },
      clock,
    }),
    { logger: logs },
  );
  await app.init();
  let closed: Promise<void> | null = null;
  const close = () => (closed ??= app.close());
  cleanup.add('in-process worker', close);
  return { app, clock, logs, close };
}

export interface SpawnedWorker {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The last 64 kB of its output. */
  output(): string;
  /** Resolves once it logged that it consumes. */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGKILL: no shutdown hook runs, in-flight jobs are left to stall. Resolves when it is gone. */
  kill(): Promise<void>;
  /** SIGTERM (graceful), then SIGKILL after 15 s. */
  stop(): Promise<void>;
  /** Resident set size now, in kB (from /proc/<pid>/status), or null when it is gone. */
  rssKb(): Promise<number | null>;
}

/**
 * The worker compiled to JavaScript once per source version (var/faults/worker-<digest>/), as `npm run build` would
 * (TypeScript's own emit, file by file; type checking is `npm run typecheck`'s job): a killed worker is back in a
 * second or two instead of the many seconds ts-node needs to compile it again at every start.
 */
export function compiledWorker(): string {
  const out = join(RESULTS_DIR, `worker-${sourcesDigest().slice(0, 16)}`);
  if (existsSync(join(out, 'test/support/fault-worker.main.js'))) return out;
  compileOnce(out, [...sourceFiles(), join(ROOT, 'test/support/fault-worker.main.ts')], ['libs/store/migrations']);
  prune((name) => /^worker-[0-9a-f]{16}$/.test(name) && join(RESULTS_DIR, name) !== out);
  return out;
}

/**
 * The worker as a separate OS process (apps/worker as deployed, through test/support/fault-worker.main.ts for the
 * fixed clock), compiled by compiledWorker(). Stopped by `cleanup` if the test did not stop it.
 */
export function spawnFaultWorker(
  env: FaultEnv,
  cleanup: Cleanup,
  options: { concurrency?: number; config?: Partial<ServiceConfig> } = {},
): SpawnedWorker {
  const config = { ...workerConfig(env, options.concurrency ?? 8), ...options.config };
  const build = compiledWorker();
  const child = spawn(
    process.execPath,
    ['-r', 'tsconfig-paths/register', join(build, 'test/support/fault-worker.main.js')],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        // @app/* resolve in the compiled tree (as `npm run start:worker` does with dist/)
        TS_NODE_BASEURL: build,
        LOG_LEVEL: 'log',
        FAULT_CLOCK_AT,
        ...Object.fromEntries(Object.entries(config).map(([k, v]) => [k, String(v)])),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  let consuming = false;
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-65_536);
      if (!consuming && output.includes('consuming (fault suite')) consuming = true;
    });
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const kill = async () => {
    if (!gone()) child.kill('SIGKILL');
    await exited;
  };
  const stop = async () => {
    if (gone()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  cleanup.add(`worker process ${child.pid}`, kill);
  return {
    child,
    pid: child.pid!,
    output: () => output,
    ready: async (timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!consuming) {
        if (gone()) throw new Error(`the worker process exited before consuming:\n${output}`);
        if (Date.now() > deadline) throw new Error(`the worker process did not start in ${timeoutMs} ms:\n${output}`);
        await sleep(50);
      }
    },
    kill,
    stop,
    rssKb: async () => {
      try {
        const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
        const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
        return match ? Number(match[1]) : null;
      } catch {
        return null;
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL from the test's side: probes that survive the connections being killed, and the kill itself

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A query that is retried while the faults under test break connections. */
export async function tolerantQuery<R extends Record<string, unknown>>(
  pool: Pool,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return (await pool.query<R>(text, values)).rows;
    } catch (err) {
      if (attempt >= 50) throw err;
      await sleep(100);
    }
  }
}

export async function eventsInLog(pool: Pool): Promise<number> {
  return (await tolerantQuery<{ n: number }>(pool, 'SELECT count(*)::int AS n FROM clinical_events'))[0].n;
}

/** Waits until the event log holds at least `count` events; returns how long that took (ms). */
export async function untilLogged(pool: Pool, count: number, timeoutMs = 600_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if ((await eventsInLog(pool)) >= count) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`fewer than ${count} events logged after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * Kills every connection to the test database but the killer's own (PostgreSQL itself keeps running); returns how
 * many were killed.
 */
export async function killDatabaseConnections(db: TestDatabase): Promise<number> {
  const name = new URL(db.url).pathname.slice(1);
  const admin = new Client({ connectionString: `${PG_BASE_URL}/postgres` });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ killed: boolean }>(
      `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [name],
    );
    return rows.filter((r) => r.killed).length;
  } finally {
    await admin.end();
  }
}

export interface Backlog {
  logged: number;
  outbox: number;
  pendingEmails: number;
  notificationJobs: number;
  eventJobs: number;
}

async function backlog(env: FaultEnv): Promise<Backlog> {
  const [row] = await tolerantQuery<{ logged: number; outbox: number; pending: number }>(
    env.db.pool,
    `SELECT (SELECT count(*)::int FROM clinical_events) AS logged, (SELECT count(*)::int FROM outbox) AS outbox,
            (SELECT count(*)::int FROM notifications WHERE status = 'pending') AS pending`,
  );
  const states = ['waiting', 'active', 'delayed', 'prioritized', 'paused'] as const;
  const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  return {
    logged: row.logged,
    outbox: row.outbox,
    pendingEmails: row.pending,
    notificationJobs: sum(await env.notifications.getJobCounts(...states)),
    eventJobs: sum(await env.publisher.queue.getJobCounts(...states)),
  };
}

/**
 * Waits until the service has nothing left to do: `events` in the log, the outbox relayed, no notification job
 * waiting, running or retrying, no email pending; twice in a row. Returns the last backlog seen.
 */
export async function settle(env: FaultEnv, events: number, timeoutMs = 300_000): Promise<Backlog> {
  const started = Date.now();
  let quiet = 0;
  let last: Backlog | null = null;
  for (;;) {
    last = await backlog(env).catch(() => last);
    const idle =
      last !== null &&
      last.logged >= events &&
      last.outbox === 0 &&
      last.pendingEmails === 0 &&
      last.notificationJobs === 0 &&
      last.eventJobs === 0;
    quiet = idle ? quiet + 1 : 0;
    if (quiet >= 3) return last!;
    if (Date.now() - started > timeoutMs)
      throw new Error(
        `the service did not settle in ${timeoutMs} ms: ${JSON.stringify(last)}; ${await failedJobs(env)}`,
      );
    await sleep(250);
  }
}

/** The jobs BullMQ gave up on, with why (for a failure message). */
async function failedJobs(env: FaultEnv): Promise<string> {
  const lines: string[] = [];
  for (const queue of [env.publisher.queue, env.notifications, env.timers]) {
    const failed = await queue.getFailed(0, 9).catch(() => []);
    for (const job of failed)
      if (job) lines.push(`${queue.name} ${job.id}: ${job.failedReason} (stalled ${job.stalledCounter}x)`);
  }
  return lines.length > 0 ? `failed jobs: ${lines.join('; ')}` : 'no failed jobs';
}

// ---------------------------------------------------------------------------------------------------------------
// snapshots: what the service keeps, without the columns that say when or which process (created_at, updated_at,
// sent_at, closed_at, received_at, applied_by, seq) or who by load (team_code, assignee_id)

interface Row {
  patient: string;
  row: string;
}
interface TaskSnap extends Row {
  open: boolean;
  escalate: boolean;
}
interface NotificationSnap {
  task: string;
  kind: string;
  member: string;
  status: string;
  /** The digest that told it (status 'digested', EMAIL_DIGEST_AFTER). */
  digest: string | null;
}
export interface Snapshot {
  events: Record<string, Row>;
  patients: Record<string, Row>;
  tasks: Record<string, TaskSnap>;
  items: Record<string, Row>;
  notifications: Record<string, NotificationSnap>;
}

const OPEN = new Set(['requested', 'accepted', 'in-progress', 'on-hold']);

export async function snapshot(pool: Pool, patients?: string[]): Promise<Snapshot> {
  const only = patients ? 'WHERE patient_id = ANY($1)' : '';
  const values = patients ? [patients] : [];
  const q = <R extends Record<string, unknown>>(sql: string) => tolerantQuery<R>(pool, sql, values);
  const snap: Snapshot = { events: {}, patients: {}, tasks: {}, items: {}, notifications: {} };
  for (const r of await q<{ event_id: string; patient_id: string; outcome: string; version: number; fx: string }>(
    `SELECT event_id, patient_id, outcome, patient_version AS version, md5(effects::text) AS fx
       FROM clinical_events ${only}`,
  ))
    snap.events[r.event_id] = { patient: r.patient_id, row: `${r.outcome}|v${r.version}|${r.fx}` };
  for (const r of await q<{ patient_id: string; pathway: string; version: number; state: string; last: string }>(
    `SELECT patient_id, pathway, version, state::text AS state, last_event_id AS last FROM patients ${only}`,
  ))
    snap.patients[r.patient_id] = {
      patient: r.patient_id,
      row: JSON.stringify([r.pathway, r.version, r.last, r.state]),
    };
  for (const r of await q<Record<string, unknown> & { id: string; patient_id: string; status: string }>(
    `SELECT id, patient_id, event_id, task_key, type, rule_id, priority, status, due_at, reason, modality, region,
            escalate, surveillance_item_key, closed_by_event_id, escalation_level, held_from, accepted_at
       FROM tasks ${only}`,
  ))
    snap.tasks[r.id] = {
      patient: r.patient_id,
      open: OPEN.has(r.status),
      escalate: r.escalate === true,
      row: JSON.stringify(r),
    };
  for (const r of await q<Record<string, unknown> & { patient_id: string; item_key: string }>(
    `SELECT patient_id, item_key, plan_event_id, kind, rule_id, modality, region, due_at, overdue_at, status, done_at,
            done_by, ordered_at, overdue_task_at
       FROM surveillance_items ${only}`,
  ))
    snap.items[`${r.patient_id}|${r.item_key}`] = { patient: r.patient_id, row: JSON.stringify(r) };
  const notifications = await tolerantQuery<{
    id: string;
    task_id: string;
    kind: string;
    member: string;
    status: string;
    digest: string | null;
  }>(
    pool,
    // a digest is about many tasks (task_ids), the others about one (task_id)
    `SELECT DISTINCT n.id, n.task_id, n.kind, n.member_id AS member, n.status, n.digest_id AS digest
       FROM notifications n
       ${patients ? 'JOIN tasks t ON t.id = n.task_id OR t.id = ANY(n.task_ids) WHERE t.patient_id = ANY($1)' : ''}`,
    values,
  );
  for (const r of notifications)
    snap.notifications[r.id] = { task: r.task_id, kind: r.kind, member: r.member, status: r.status, digest: r.digest };
  return snap;
}

/** Ids of the clinical events being processed now (active jobs). */
export async function activeEventIds(env: FaultEnv): Promise<string[]> {
  return (await env.publisher.queue.getActive(0, -1)).filter((j) => j?.id).map((j) => String(j.id));
}

/** Waits until every one of these events is in the log; returns how long that took (ms). */
export async function untilAllLogged(pool: Pool, eventIds: string[], timeoutMs = 300_000): Promise<number> {
  const started = Date.now();
  if (eventIds.length === 0) return 0;
  for (;;) {
    const [row] = await tolerantQuery<{ n: number }>(
      pool,
      'SELECT count(*)::int AS n FROM clinical_events WHERE event_id = ANY($1)',
      [eventIds],
    );
    if (row.n === eventIds.length) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${eventIds.length - row.n} events still not logged`);
    await sleep(100);
  }
}

/** The escalation timers waiting in Redis (delayed `task-escalation` jobs), by job id. */
export async function delayedTimers(env: FaultEnv): Promise<Set<string>> {
  const jobs = await env.timers.getDelayed(0, -1);
  return new Set(jobs.filter((j) => j?.name === 'task-escalation').map((j) => String(j.id)));
}

/** The timers a run's tasks call for: each escalating task's steps (R-LR-ESCALATE step 5). */
export function expectedTimers(snap: Snapshot): Set<string> {
  const steps = escalationSteps(createPathway());
  const ids = new Set<string>();
  for (const [id, task] of Object.entries(snap.tasks))
    if (task.escalate) for (const step of steps) ids.add(`escalate.${id}.${step.level}`);
  return ids;
}

// ---------------------------------------------------------------------------------------------------------------
// the clean reference: the same stream through one worker with no fault, computed once per source version and
// stream size and kept in var/faults/ (a change to libs/, apps/worker/ or this suite computes it again)

export interface Reference extends Snapshot {
  events_count: number;
  seconds: number;
  emails: number;
}

/** Removes what earlier source versions left in var/faults/. */
function prune(stale: (name: string) => boolean): void {
  for (const name of readdirSync(RESULTS_DIR))
    if (stale(name)) rmSync(join(RESULTS_DIR, name), { recursive: true, force: true });
}

/** The service's sources the suite runs (libs and the worker app, migrations included), without unit tests. */
function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|sql)$/.test(entry.name) && !entry.name.endsWith('.spec.ts')) files.push(path);
    }
  };
  for (const dir of ['libs', 'apps/worker/src']) walk(join(ROOT, dir));
  return files;
}

function sourcesDigest(): string {
  const hash = createHash('sha256');
  for (const file of [
    ...sourceFiles(),
    join(ROOT, 'test/support/faults.ts'),
    join(ROOT, 'test/support/fault-worker.main.ts'),
  ])
    hash.update(relative(ROOT, file)).update(readFileSync(file));
  return hash.digest('hex');
}

/**
 * The clean run of a stream (one worker in this process, no fault), kept in var/faults/reference-<digest>-<n>.json:
 * the digest covers the sources and the stream itself, so any stream (the api fault's has HL7-named events) has its
 * own, and a change to either makes a new one.
 */
export async function referenceRun(events: ClinicalEvent[]): Promise<Reference> {
  const digest = createHash('sha256').update(sourcesDigest()).update(JSON.stringify(events)).digest('hex').slice(0, 16);
  const file = join(RESULTS_DIR, `reference-${digest}-${events.length}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Reference;

  const cleanup = new Cleanup();
  try {
    const started = Date.now();
    const env = await createFaultEnv('reference', await ownRedis(cleanup), cleanup);
    await env.publisher.publish(events);
    await startFaultWorker(env, cleanup);
    await settle(env, events.length);
    const snap = await snapshot(env.db.pool);
    // the reference must itself be clean: every email sent once, nothing left over
    const problems = checkEmails(snap, snap, new Set(), env.sink);
    if (problems.lost + problems.resent + problems.unknown + problems.stuck > 0)
      throw new Error(`the reference run is not clean: ${JSON.stringify(problems)}`);
    const reference: Reference = {
      ...snap,
      events_count: events.length,
      seconds: (Date.now() - started) / 1000,
      emails: env.sink.total,
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(reference));
    renameSync(temp, file);
    prune((name) => name.startsWith('reference-') && !name.startsWith(`reference-${digest}-`));
    return reference;
  } finally {
    await cleanup.run();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// comparing a run with the reference

export interface Diff {
  /** In the reference, not in the run. */
  lost: number;
  /** In the run, not in the reference. */
  extra: number;
  /** In both, with different contents. */
  changed: number;
  /** A few keys of each, for the failure message. */
  examples: string[];
}

function diff<V>(
  reference: Record<string, V>,
  actual: Record<string, V>,
  include: (key: string, value: V) => boolean,
  same: (a: V, b: V) => boolean,
): Diff {
  const d: Diff = { lost: 0, extra: 0, changed: 0, examples: [] };
  const note = (what: string) => d.examples.length < 5 && d.examples.push(what);
  for (const [key, value] of Object.entries(reference)) {
    if (!include(key, value)) continue;
    const other = actual[key];
    if (other === undefined) {
      d.lost += 1;
      note(`lost ${key}`);
    } else if (!same(value, other)) {
      d.changed += 1;
      note(`changed ${key}: ${JSON.stringify(value)} -> ${JSON.stringify(other)}`);
    }
  }
  for (const [key, value] of Object.entries(actual)) {
    if (!include(key, value) || key in reference) continue;
    d.extra += 1;
    note(`extra ${key}`);
  }
  return d;
}

const sameRow = (a: Row, b: Row) => a.row === b.row;

export interface EmailCheck {
  /** Notifications of tasks open at the end that the reference sent and the run did not (or did not record). */
  lost: number;
  /** Notifications of open tasks the run sent and the reference did not. */
  extra: number;
  /** Copies of one notification received after the first (same Message-ID), outside a crash window. */
  resent: number;
  /** Emails received that no `sent` notification row accounts for, outside a crash window. */
  unknown: number;
  /**
   * Copies received again, or received but not recorded as sent, because the process that sent the first copy was
   * killed between SMTP's "250 OK" and recording it (the window docs/navigation.md describes; same Message-ID).
   */
  crashWindow: number;
  /** Notifications left pending or failed. */
  stuck: number;
  examples: string[];
}

/** How long before a kill an email's first copy may have been accepted for a second copy to be the crash window's. */
const CRASH_WINDOW_MS = 3000;

/**
 * Emails: every notification of a task still open at the end (of a patient not reordered) that the reference sent,
 * the run sent too, and the SMTP server received it once; nothing else received twice or unaccounted for. `crashes`
 * are the times (Date.now()) a process was killed: an email first accepted just before one may arrive twice.
 */
export function checkEmails(
  reference: Snapshot,
  actual: Snapshot,
  reordered: Set<string>,
  sink: SmtpSink,
  { crashes = [], skipKinds = [] }: { crashes?: number[]; skipKinds?: string[] } = {},
): EmailCheck {
  const c: EmailCheck = {
    lost: 0,
    extra: 0,
    resent: 0,
    unknown: 0,
    crashWindow: 0,
    stuck: 0,
    examples: [],
  };
  const note = (what: string) => c.examples.length < 5 && c.examples.push(what);
  const strict = (snap: Snapshot, n: NotificationSnap) => {
    const task = snap.tasks[n.task];
    return task !== undefined && task.open && !reordered.has(task.patient) && !skipKinds.includes(n.kind);
  };
  const inCrashWindow = (id: string) => {
    const first = sink.firstAt.get(id) ?? 0;
    return crashes.some((kill) => first >= kill - CRASH_WINDOW_MS && first <= kill + 100);
  };
  // an email of a task is told by itself, or by the digest that replaced it
  const received = (id: string, n: NotificationSnap) =>
    n.status === 'digested' && n.digest ? (sink.received.get(n.digest) ?? 0) : (sink.received.get(id) ?? 0);
  for (const [id, n] of Object.entries(reference.notifications)) {
    if (!strict(reference, n)) continue;
    const got = actual.notifications[id];
    if (!got || !['sent', 'digested'].includes(got.status) || received(id, got) === 0) {
      c.lost += 1;
      note(`lost email ${id} (${got?.status ?? 'no row'}, received ${sink.received.get(id) ?? 0})`);
    }
  }
  for (const [id, n] of Object.entries(actual.notifications)) {
    if (n.status === 'pending' || n.status === 'failed') {
      c.stuck += 1;
      note(`stuck email ${id} (${n.status})`);
    }
    if (strict(actual, n) && !(id in reference.notifications)) {
      c.extra += 1;
      note(`extra email ${id}`);
    }
    if (n.status === 'sent' && (sink.received.get(id) ?? 0) === 0) {
      c.lost += 1;
      note(`email ${id} marked sent, never received`);
    }
  }
  for (const [id, times] of sink.received) {
    const crash = inCrashWindow(id);
    if (times > 1) {
      if (crash) c.crashWindow += times - 1;
      else c.resent += times - 1;
      note(`email ${id} received ${times} times${crash ? ' (crash window)' : ''}`);
    }
    if (actual.notifications[id]?.status !== 'sent') {
      if (crash) c.crashWindow += 1;
      else c.unknown += 1;
      note(
        `email ${id} received, its row is ${actual.notifications[id]?.status ?? 'missing'}${crash ? ' (crash window)' : ''}`,
      );
    }
  }
  return c;
}

/**
 * Patients with an event logged `late`: the fault delivered their events out of order (a stalled job taken over
 * after its patient's next event, a retry after a later event). By design (R-LATE-EVENT) their tasks then differ
 * from the clean run's; they must equal the same events applied one at a time in the order they were committed.
 */
export async function reorderedPatients(pool: Pool): Promise<{ patients: string[]; lateEvents: number }> {
  const rows = await tolerantQuery<{ patient_id: string; n: number }>(
    pool,
    `SELECT patient_id, count(*)::int AS n FROM clinical_events WHERE outcome = 'late' GROUP BY patient_id`,
  );
  return { patients: rows.map((r) => r.patient_id), lateEvents: rows.reduce((a, r) => a + r.n, 0) };
}

/** Applies these patients' events, as the run committed them (seq order), one at a time into a scratch database. */
async function replayInCommitOrder(pool: Pool, patients: string[]): Promise<Snapshot> {
  const scratch = await createTestDatabase('fault_replay');
  try {
    const applier = new ClinicalEventApplier(scratch.pool, createPathway());
    const options = { now: new Date(FAULT_CLOCK_AT), escalation: escalationSteps(createPathway()) };
    const events = await tolerantQuery<{ envelope: ClinicalEvent }>(
      pool,
      'SELECT envelope FROM clinical_events WHERE patient_id = ANY($1) ORDER BY seq',
      [patients],
    );
    for (const { envelope } of events) await applier.apply(envelope, options);
    return await snapshot(scratch.pool, patients);
  } finally {
    await scratch.drop();
  }
}

export interface Verdict {
  events: Diff;
  patients: Diff;
  tasks: Diff;
  items: Diff;
  /** Routing's load as the triggers keep it (migration 007) against a count of the run's own open tasks. */
  loads: Diff;
  timers: Diff | null;
  emails: EmailCheck;
  reorderedPatients: number;
  lateEvents: number;
  /** Events, tasks, items, emails, timers the run should have and has not. */
  lost: number;
  /** Emails received twice, and tasks, items, emails, timers the run has and should not. */
  duplicated: number;
  /** Rows in both with different contents. */
  changed: number;
  examples: string[];
}

/**
 * Compares the run in `env` with the reference. `timers`: 'redis' (default) checks the escalation timers waiting in
 * Redis against the tasks; 'none' when Redis was emptied on purpose. `crashes`: when processes were killed (see
 * checkEmails). `ignoreEscalation`: the run moved its clock on and escalated, which the reference did not (the
 * flush fault checks escalations itself).
 */
export async function compareWithReference(
  env: FaultEnv,
  reference: Reference,
  options: { timers?: 'redis' | 'none'; crashes?: number[]; ignoreEscalation?: boolean } = {},
): Promise<Verdict> {
  const actual = await snapshot(env.db.pool);
  const { patients: late, lateEvents } = await reorderedPatients(env.db.pool);
  const reordered = new Set(late);
  const replay = late.length > 0 ? await replayInCommitOrder(env.db.pool, late) : null;
  const inOrder = (_key: string, v: { patient: string }) => !reordered.has(v.patient);
  const isReordered = (_key: string, v: { patient: string }) => reordered.has(v.patient);
  const byCategory = <V extends { patient: string }>(
    pick: (s: Snapshot) => Record<string, V>,
    same: (a: V, b: V) => boolean,
  ): Diff => {
    const main = diff(pick(reference), pick(actual), inOrder, same);
    if (!replay) return main;
    const moved = diff(pick(replay), pick(actual), isReordered, same);
    return {
      lost: main.lost + moved.lost,
      extra: main.extra + moved.extra,
      changed: main.changed + moved.changed,
      examples: [...main.examples, ...moved.examples].slice(0, 5),
    };
  };
  const events = byCategory((s) => s.events, sameRow);
  // the state is the fold of the events in clinical order: equal to the reference's whatever the arrival order
  const patients = diff(reference.patients, actual.patients, () => true, sameRow);
  const withoutEscalation = (row: string) => row.replace(/"escalation_level":\d+/, '');
  const tasks = byCategory(
    (s) => s.tasks,
    options.ignoreEscalation ? (a, b) => withoutEscalation(a.row) === withoutEscalation(b.row) : sameRow,
  );
  const items = byCategory((s) => s.items, sameRow);
  // routing's load kept by the triggers equals a count of the open tasks, whatever the fault rolled back or retried
  const counts = await memberOpenTaskCounts(env.db.pool);
  const asRows = (byMember: Record<string, number>) =>
    Object.fromEntries(Object.entries(byMember).map(([member, n]) => [member, { patient: '', row: String(n) }]));
  const loads = diff(asRows(counts.counted), asRows(counts.kept), () => true, sameRow);
  let timers: Diff | null = null;
  if (options.timers !== 'none') {
    const expected = Object.fromEntries([...expectedTimers(actual)].map((id) => [id, { patient: '' }]));
    const waiting = Object.fromEntries([...(await delayedTimers(env))].map((id) => [id, { patient: '' }]));
    timers = diff(
      expected,
      waiting,
      () => true,
      () => true,
    );
  }
  const emails = checkEmails(reference, actual, reordered, env.sink, {
    crashes: options.crashes,
    skipKinds: options.ignoreEscalation ? ['task-escalated'] : [],
  });
  const all = [events, patients, tasks, items, loads, ...(timers ? [timers] : [])];
  return {
    events,
    patients,
    tasks,
    items,
    loads,
    timers,
    emails,
    reorderedPatients: late.length,
    lateEvents,
    lost: all.reduce((a, d) => a + d.lost, 0) + emails.lost + emails.stuck,
    duplicated: all.reduce((a, d) => a + d.extra, 0) + emails.extra + emails.resent + emails.unknown,
    changed: all.reduce((a, d) => a + d.changed, 0),
    examples: [...all.flatMap((d) => d.examples), ...emails.examples].slice(0, 12),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// figures

export interface FaultFigures {
  fault: string;
  events: number;
  injected: number;
  survived: number;
  lost: number;
  duplicated: number;
  changed: number;
  /** Patients whose events the fault reordered (compared with their commit-order replay). */
  reorderedPatients: number;
  lateEvents: number;
  emails: number;
  /** Copies of an email received after the first (same Message-ID). */
  emailsResent: number;
  /** Worst time from the end of a fault to the service committing events again, ms. */
  recoverMs: number | null;
  /** From the first event published to everything settled, s. */
  seconds: number;
  maxRssMb?: number;
  notes?: string;
}

export function figuresOf(
  fault: string,
  verdict: Verdict,
  rest: Omit<FaultFigures, 'fault' | 'lost' | 'duplicated' | 'changed' | 'reorderedPatients' | 'lateEvents'>,
): FaultFigures {
  return {
    fault,
    ...rest,
    lost: verdict.lost,
    duplicated: verdict.duplicated,
    changed: verdict.changed,
    reorderedPatients: verdict.reorderedPatients,
    lateEvents: verdict.lateEvents,
  };
}

/** Appends one JSON line to var/faults/results.jsonl and prints it. */
export function recordFigures(figures: FaultFigures): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const line = JSON.stringify({ at: new Date().toISOString(), ...figures });
  appendFileSync(RESULTS_FILE, `${line}\n`);
  console.log(`fault figures: ${line}`);
}
