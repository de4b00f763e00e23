/**
 * `npm run bench:backfill`: the service at hospital-network scale, through the real queue, with the worker run as
 * deployed (separate processes, `dist/apps/worker/src/main.js`), demo care teams loaded (tasks are routed to
 * people) and every email handed to a real SMTP server.
 *
 * In one run, on the same Redis and PostgreSQL:
 * 1. the bare BullMQ ceiling: a no-op worker draining single-event jobs;
 * 2. the naive baseline: one transaction per event (same shape as the door's, no service code);
 * 3. growth: a backfill of each size's history (BENCH_GROWTH patients × 10 events, batches of about 500 events
 *    holding whole patients, on the `clinical-events-backfill` queue), then, with that history in the database, live events at a steady
 *    200 events/s: p99 from publish to committed, and to the email handed to SMTP; worker RSS throughout;
 * 4. scale-out: the same backfill with 1, 2 and 4 worker processes, with the cores PostgreSQL, Redis and the
 *    workers used, to show where throughput stops growing and why.
 * Benchmarks print figures and never fail on a number. `BENCH_SMALL=1` runs everything small.
 * `BENCH_EMAIL_PROCESS=1`: each run adds a worker process of its own for routing and email (`WORKER_ROLES`), the
 * others take `events,timers`. `BENCH_CHART_FROM=a.log,b.log`: only redraw the chart from earlier runs' output.
 * After each backfill the bench runs `VACUUM ANALYZE`, as autovacuum would (it is off on the bench machine);
 * `BENCH_VACUUM=0` runs `ANALYZE` only. `BENCH_KEEP_DATABASE=1` leaves the last run's database.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import {
  CLINICAL_EVENTS_BACKFILL_QUEUE,
  CLINICAL_EVENTS_QUEUE,
  clinicalEventBatchJob,
  clinicalEventJob,
  NOTIFICATIONS_QUEUE,
  TIMERS_QUEUE,
} from '@app/contracts';
import { createPool, loadCareTeamSeed, migrate, seedCareTeams, type SweepReport } from '@app/store';
import { count, percentile, printResult, round, size, SMALL } from './support/bench-env';
import {
  BASELINE_SCHEMA,
  baselineWorker,
  benchQueue,
  coresUsed,
  dropDatabase,
  freshDatabase,
  history,
  keep,
  noOpWorker,
  patientBatches,
  REDIS_URL,
  roundRobin,
  rssMb,
  sampleCpu,
  waitDrained,
  type Throughput,
} from './support/queue-bench';
import { startSmtpSink } from './support/smtp-sink';

// dist/bench when built (npm run bench:backfill), bench/ under ts-node
const ROOT = existsSync(join(__dirname, '..', 'package.json')) ? join(__dirname, '..') : join(__dirname, '..', '..');
const GROWTH = (process.env.BENCH_GROWTH ?? (SMALL ? '300,1000' : '1000,10000,100000')).split(',').map(Number);
const PER_PATIENT = size('BENCH_EVENTS_PER_PATIENT', 10, 10);
const BATCH = size('BENCH_BATCH', 500, 500);
const CEILING_JOBS = size('BENCH_CEILING_JOBS', 200_000, 10_000);
const BASELINE_EVENTS = size('BENCH_BASELINE_EVENTS', 200_000, 10_000);
const RATE = size('BENCH_LATENCY_RATE', 200, 200);
const LATENCY_SECONDS = size('BENCH_LATENCY_SECONDS', 30, 10);
const SCALE_PATIENTS = size('BENCH_SCALE_PATIENTS', 10_000, 1_000);
const SCALE_WORKERS = (process.env.BENCH_SCALE_WORKERS ?? '1,2,4').split(',').map(Number);
const CONCURRENCY = 16;
const EMAIL_PROCESS = process.env.BENCH_EMAIL_PROCESS === '1';
const POOL = 20;
const VACUUM = process.env.BENCH_VACUUM !== '0';
/** BENCH_KEEP_DATABASE=1: the last run's database (sarcoma_bench_backfill) is left for a look with psql. */
const KEEP_DATABASE = process.env.BENCH_KEEP_DATABASE === '1';

interface Latency {
  events: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

interface ServiceRun {
  patients: number;
  events: number;
  workers: number;
  door: Throughput;
  settledSeconds: number;
  analyzeSeconds: number;
  /** Worker RSS peak over the whole run, and during the backfill itself (load until settled). */
  rssMaxMb: number;
  rssBackfillMb: number;
  cores: ReturnType<typeof coresUsed>;
  tasks: number;
  openTasks: number;
  unroutedOpen: number;
  emails: number;
  failedBatches: number;
  deadLetters: number;
  commitLatency?: Latency;
  /** The commit latency's two parts: waiting in Redis for a worker, and the worker's processing to commit. */
  queueWait?: Latency;
  processing?: Latency;
  emailLatency?: Latency;
  /** The sweep after the load, with its emails (before the live phase). */
  sweepCatchUpSeconds?: number;
  /** What that sweep did: tasks opened, emails digested (EMAIL_DIGEST_AFTER). */
  sweep?: SweepReport;
  /** PostgreSQL checkpoints that began during the live phase. */
  liveCheckpoints?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function latencyOf(values: number[]): Latency {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    events: sorted.length,
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

async function ceiling(): Promise<Throughput> {
  const prefix = `bench-ceiling-${process.pid}`;
  const queue = benchQueue(CLINICAL_EVENTS_QUEUE, prefix);
  const events = history(Math.ceil(CEILING_JOBS / PER_PATIENT), PER_PATIENT, 3, 'ceil').slice(0, CEILING_JOBS);
  for (let i = 0; i < events.length; i += 1000)
    await queue.addBulk(events.slice(i, i + 1000).map((e) => clinicalEventJob(e)));
  const started = Date.now();
  const worker = noOpWorker(prefix, CONCURRENCY);
  const result = await waitDrainedRemoved(queue, events.length, started);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return result;
}

/** Jobs here are removed on completion (as deployed): drained = nothing waiting, active or delayed. */
async function waitDrainedRemoved(
  queue: ReturnType<typeof benchQueue>,
  total: number,
  started: number,
): Promise<Throughput> {
  for (;;) {
    const c = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
    if (c.wait + c.active + c.delayed + c.prioritized === 0) {
      const seconds = (Date.now() - started) / 1000;
      return { events: total, seconds, perSecond: total / seconds };
    }
    await sleep(20);
  }
}

async function naiveBaseline(): Promise<Throughput> {
  const name = 'sarcoma_bench_naive';
  const url = await freshDatabase(name);
  const pool = createPool(url, POOL);
  await pool.query(BASELINE_SCHEMA);
  const prefix = `bench-naive-${process.pid}`;
  const queue = benchQueue(CLINICAL_EVENTS_QUEUE, prefix);
  const events = history(Math.ceil(BASELINE_EVENTS / PER_PATIENT), PER_PATIENT, 5, 'naive').slice(0, BASELINE_EVENTS);
  for (let i = 0; i < events.length; i += 1000)
    await queue.addBulk(events.slice(i, i + 1000).map((e) => keep(clinicalEventJob(e))));
  const started = Date.now();
  const worker = baselineWorker(pool, prefix, CONCURRENCY);
  const result = await waitDrained(queue, events.length, started);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  await pool.end();
  await dropDatabase(name);
  return result;
}

function spawnWorker(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['-r', 'tsconfig-paths/register', join(ROOT, 'dist/apps/worker/src/main.js')], {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_BASEURL: join(ROOT, 'dist'), ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return child;
}

async function runService(patients: number, workers: number, withLatency: boolean): Promise<ServiceRun> {
  const name = 'sarcoma_bench_backfill';
  const url = await freshDatabase(name);
  await migrate(url);
  const pool = createPool(url, 4);
  await seedCareTeams(pool, loadCareTeamSeed(join(ROOT, 'config', 'demo-teams.json')));
  const events = history(patients, PER_PATIENT, 7, 'bf');
  const prefix = `bench-bf-${process.pid}-${patients}-${workers}`;
  const backfill = benchQueue(CLINICAL_EVENTS_BACKFILL_QUEUE, prefix);
  const live = benchQueue(CLINICAL_EVENTS_QUEUE, prefix);
  const notifications = benchQueue(NOTIFICATIONS_QUEUE, prefix);
  const timers = benchQueue(TIMERS_QUEUE, prefix);
  const smtp = await startSmtpSink();
  const env = {
    DATABASE_URL: url,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    SMTP_URL: smtp.url,
    LOG_LEVEL: 'warn',
    METRICS_PORT: '0',
    WORKER_CONCURRENCY: String(CONCURRENCY),
    BACKFILL_CONCURRENCY: '2',
    PG_POOL_SIZE: String(POOL),
  };
  // BENCH_EMAIL_PROCESS=1: routing and email in a process of their own (WORKER_ROLES), beside the event workers
  const children = [
    ...Array.from({ length: workers }, () =>
      spawnWorker(EMAIL_PROCESS ? { ...env, WORKER_ROLES: 'events,timers' } : env),
    ),
    ...(EMAIL_PROCESS ? [spawnWorker({ ...env, WORKER_ROLES: 'notifications' })] : []),
  ];
  const pids = children.map((c) => c.pid!).filter(Boolean);
  for (let i = 0; i < 600 && (await backfill.getWorkersCount()) < workers; i += 1) await sleep(100);

  let rssMaxMb = 0;
  const rssTimer = setInterval(() => {
    for (const pid of pids) rssMaxMb = Math.max(rssMaxMb, rssMb(pid));
  }, 250);
  const cpuBefore = sampleCpu();
  const started = Date.now();
  const batches = patientBatches(events, BATCH);
  // a backfill publisher with backpressure: a bounded number of batches waiting in Redis
  for (let i = 0; i < batches.length; i += 10) {
    while ((await backfill.getWaitingCount()) > 20) await sleep(10);
    await backfill.addBulk(
      batches.slice(i, i + 10).map((b, n) => clinicalEventBatchJob(`bf-${patients}-${workers}-${i + n}`, b)),
    );
  }
  const door = await waitDrainedRemoved(backfill, events.length, started);
  const cores = coresUsed(cpuBefore, sampleCpu(), pids);
  // What autovacuum does after a load this size (it is off on the bench machine's PostgreSQL): the planner's
  // statistics, without which the routing and sweeper statements that follow plan blind, and the visibility map,
  // without which every index-only scan reads the table too (routing counts each member's open tasks that way).
  // BENCH_VACUUM=0: ANALYZE only.
  const analyzeStarted = Date.now();
  await pool.query(VACUUM ? 'VACUUM ANALYZE' : 'ANALYZE');
  const analyzeSeconds = (Date.now() - analyzeStarted) / 1000;
  // settled: every outbox row relayed and every tasks-created job routed and emailed (timers stay delayed)
  for (let quiet = 0; quiet < 3;) {
    const outbox = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox')).rows[0].n;
    const c = await notifications.getJobCounts('wait', 'active', 'prioritized');
    quiet = outbox + c.wait + c.active + c.prioritized === 0 ? quiet + 1 : 0;
    await sleep(100);
  }
  const settledSeconds = (Date.now() - started) / 1000 - 0.3;

  const one = async (sql: string) => (await pool.query<{ n: number }>(sql)).rows[0].n;
  const open = `status NOT IN ('completed', 'cancelled', 'rejected')`;
  const run: ServiceRun = {
    patients,
    events: await one('SELECT count(*)::int AS n FROM clinical_events'),
    workers,
    door,
    settledSeconds,
    analyzeSeconds,
    rssMaxMb: 0,
    rssBackfillMb: rssMaxMb,
    cores,
    tasks: await one('SELECT count(*)::int AS n FROM tasks'),
    openTasks: await one(`SELECT count(*)::int AS n FROM tasks WHERE ${open}`),
    unroutedOpen: await one(`SELECT count(*)::int AS n FROM tasks WHERE ${open} AND assignee_id IS NULL`),
    emails: smtp.received(),
    failedBatches: (await backfill.getJobCounts('failed')).failed,
    deadLetters: await one('SELECT count(*)::int AS n FROM dead_letters'),
  };
  if (run.events !== events.length) console.warn(`  !! ${run.events} events logged for ${events.length} published`);

  if (withLatency) {
    // The sweeper's catch-up after the load (orders, overdue tasks and plans for years of surveillance) is the
    // backfill's tail: one sweep is asked for and waited for, with its emails, before the live phase
    const sweepStarted = Date.now();
    const sweepJob = await timers.add('surveillance-sweep', {}, { jobId: `bench-sweep-${patients}-${workers}` });
    for (;;) {
      const job = await timers.getJob(sweepJob.id!);
      if (!job || job.finishedOn) {
        run.sweep = job?.returnvalue as SweepReport | undefined;
        break;
      }
      await sleep(200);
    }
    for (let quiet = 0; quiet < 3;) {
      const outbox = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox')).rows[0].n;
      const c = await notifications.getJobCounts('wait', 'active', 'prioritized');
      quiet = outbox + c.wait + c.active + c.prioritized === 0 ? quiet + 1 : 0;
      await sleep(100);
    }
    run.sweepCatchUpSeconds = (Date.now() - sweepStarted) / 1000;
    // The backfill's dirty pages are written out before the live phase (BENCH_CHECKPOINT=0 to skip): otherwise the
    // checkpoint it triggers lands in the live phase and its writes stall commits there, which measures the backfill
    if (process.env.BENCH_CHECKPOINT !== '0') await pool.query('CHECKPOINT');
    const checkpoints = async () =>
      (await pool.query<{ n: number }>('SELECT (checkpoints_timed + checkpoints_req)::int AS n FROM pg_stat_bgwriter'))
        .rows[0].n;
    const checkpointsBefore = await checkpoints();
    const offered = roundRobin(Math.ceil((RATE * LATENCY_SECONDS) / 2), RATE * LATENCY_SECONDS, 99, `lat${patients}`);
    const publishedAt = new Map<string, number>();
    const t0 = Date.now();
    for (let i = 0; i < offered.length; i += 1) {
      const wait = t0 + (i * 1000) / RATE - Date.now();
      if (wait > 1) await sleep(wait);
      const job = keep(clinicalEventJob(offered[i]));
      publishedAt.set(offered[i].eventId, Date.now());
      void live.add(job.name, job.data, job.opts);
    }
    await waitDrained(live, offered.length, t0);
    run.liveCheckpoints = (await checkpoints()) - checkpointsBefore;
    const jobs = await live.getJobs(['completed'], 0, offered.length);
    run.commitLatency = latencyOf(jobs.map((j: Job) => (j.finishedOn ?? 0) - j.timestamp));
    run.queueWait = latencyOf(jobs.map((j: Job) => (j.processedOn ?? 0) - j.timestamp));
    run.processing = latencyOf(jobs.map((j: Job) => (j.finishedOn ?? 0) - (j.processedOn ?? 0)));
    // first email per event that opened a task, handed to SMTP (sent_at is written after the server's 250)
    const ids = [...publishedAt.keys()];
    const emailed = async () =>
      (
        await pool.query<{ event_id: string; sent: string | null; pending: number }>(
          `SELECT t.event_id, min(n.sent_at) AS sent, count(*) FILTER (WHERE n.status = 'pending')::int AS pending
             FROM notifications n JOIN tasks t ON t.id = n.task_id
            WHERE t.event_id = ANY($1) AND n.kind = 'task-assigned'
            GROUP BY t.event_id`,
          [ids],
        )
      ).rows;
    let rows = await emailed();
    for (let i = 0; i < 300 && rows.some((r) => r.pending > 0); i += 1) {
      await sleep(100);
      rows = await emailed();
    }
    run.emailLatency = latencyOf(
      rows.filter((r) => r.sent).map((r) => Date.parse(r.sent!) - (publishedAt.get(r.event_id) ?? NaN)),
    );
  }
  clearInterval(rssTimer);
  run.rssMaxMb = rssMaxMb;

  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.on('exit', r)))));
  for (const q of [backfill, live, notifications, timers]) {
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
  }
  await smtp.close();
  await pool.end();
  if (!KEEP_DATABASE) await dropDatabase(name);
  return run;
}

function describe(run: ServiceRun): string {
  const lines = [
    `  ${count(run.patients)} patients, ${count(run.events)} events, ${run.workers} worker process(es)${EMAIL_PROCESS ? ' + 1 for routing and email' : ''}:`,
    `    backfill committed   ${count(run.door.perSecond).padStart(7)} events/s (${run.door.seconds.toFixed(1)} s)`,
    `    settled (routed, emailed) after ${run.settledSeconds.toFixed(1)} s (${VACUUM ? 'VACUUM ANALYZE' : 'ANALYZE'} ${run.analyzeSeconds.toFixed(1)} s); ${count(run.tasks)} tasks, ${count(run.openTasks)} open, ${count(run.unroutedOpen)} open unrouted; ${count(run.emails)} emails`,
    `    worker RSS max ${run.rssBackfillMb.toFixed(0)} MB during the backfill, ${run.rssMaxMb.toFixed(0)} MB over the run; cores used while loading: postgres ${run.cores.postgres.toFixed(2)}, redis ${run.cores.redis.toFixed(2)}, workers ${run.cores.workers.toFixed(2)}, bench ${run.cores.bench.toFixed(2)}`,
    `    failed batches ${run.failedBatches}, dead letters ${run.deadLetters}`,
  ];
  if (run.commitLatency && run.emailLatency) {
    const c = run.commitLatency;
    const e = run.emailLatency;
    lines.push(
      `    at ${RATE} events/s: publish -> committed p50 ${c.p50} ms, p95 ${c.p95} ms, p99 ${c.p99} ms, max ${c.max} ms (${count(c.events)} events)`,
      `                      of which waiting for a worker p50 ${run.queueWait?.p50} ms, p99 ${run.queueWait?.p99} ms; processing p50 ${run.processing?.p50} ms, p99 ${run.processing?.p99} ms`,
      `                      publish -> email to SMTP p50 ${e.p50} ms, p95 ${e.p95} ms, p99 ${e.p99} ms, max ${e.max} ms (${count(e.events)} emails)`,
      `                      PostgreSQL checkpoints during the live phase: ${run.liveCheckpoints ?? '?'}; the sweep before it (the load's surveillance catch-up) took ${run.sweepCatchUpSeconds?.toFixed(1) ?? '?'} s` +
        (run.sweep
          ? `: ${count(run.sweep.ordersOpened)} orders and ${count(run.sweep.overdueOpened)} overdue tasks opened, ` +
            `${count(run.sweep.emailDigests)} digest emails in place of ${count(run.sweep.emailsDigested)} task emails`
          : ''),
    );
  }
  return lines.join('\n');
}

/** Backfill throughput and live latency by size, one SVG (docs/images/backfill-growth.svg). */
function growthChart(runs: ServiceRun[], naive: Throughput, bullmq: Throughput): string {
  const W = 940;
  const H = 330;
  const panel = (
    x0: number,
    title: string,
    bars: { label: string; values: [string, number, string][] }[],
    max: number,
    unit: string,
    lines: [string, number, string][],
  ) => {
    const pw = 380;
    const ph = 220;
    const top = 60;
    const y = (v: number) => top + ph - (Math.min(v, max) / max) * ph;
    const group = pw / bars.length;
    let out = `<text x="${x0 + pw / 2}" y="30" text-anchor="middle" font-weight="bold">${title}</text>`;
    out += `<line x1="${x0}" y1="${top + ph}" x2="${x0 + pw}" y2="${top + ph}" stroke="#333"/>`;
    for (let t = 0; t <= 4; t += 1) {
      const v = (max * t) / 4;
      out += `<text x="${x0 - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${round(v, 0)}</text>`;
      out += `<line x1="${x0}" y1="${y(v)}" x2="${x0 + pw}" y2="${y(v)}" stroke="#ddd"/>`;
    }
    out += `<text x="${x0 - 40}" y="${top - 12}" font-size="11">${unit}</text>`;
    bars.forEach((b, i) => {
      const bw = (group * 0.7) / b.values.length;
      b.values.forEach(([name, v, colour], j) => {
        const bx = x0 + i * group + group * 0.15 + j * bw;
        out += `<rect x="${bx}" y="${y(v)}" width="${bw - 2}" height="${top + ph - y(v)}" fill="${colour}"><title>${name}: ${round(v, 0)}</title></rect>`;
        // a bar past the axis is cut at its top and says so (its figure is still the real one)
        out += `<text x="${bx + bw / 2 - 1}" y="${y(v) - 3}" text-anchor="middle" font-size="10">${round(v, 0)}${v > max ? ' ↑' : ''}</text>`;
      });
      out += `<text x="${x0 + i * group + group / 2}" y="${top + ph + 16}" text-anchor="middle" font-size="12">${b.label}</text>`;
    });
    for (const [name, v, colour] of lines) {
      out += `<line x1="${x0}" y1="${y(v)}" x2="${x0 + pw}" y2="${y(v)}" stroke="${colour}" stroke-dasharray="6 4"/>`;
      out += `<text x="${x0 + pw - 2}" y="${y(v) - 4}" text-anchor="end" font-size="11" fill="${colour}">${name}</text>`;
    }
    return out;
  };
  const throughputMax = Math.max(bullmq.perSecond, ...runs.map((r) => r.door.perSecond)) * 1.1;
  // at most a second: one run's seconds-long tail would flatten the others' bars
  const latencyMax = Math.min(1000, Math.max(220, ...runs.map((r) => r.emailLatency?.p99 ?? 0))) * 1.1;
  const left = panel(
    70,
    'Backfill, events/s (1 worker process)',
    runs.map((r) => ({
      label: `${count(r.patients)} patients`,
      values: [['batched backfill', r.door.perSecond, '#2b6cb0']],
    })),
    throughputMax,
    'events/s',
    [
      [`naive baseline ${count(naive.perSecond)}/s`, naive.perSecond, '#c05621'],
      [`BullMQ no-op ceiling ${count(bullmq.perSecond)} jobs/s`, bullmq.perSecond, '#2f855a'],
    ],
  );
  const right = panel(
    520,
    `Live p99 at ${RATE} events/s, ms`,
    runs.map((r) => ({
      label: `${count(r.patients)} patients`,
      values: [
        ['to committed', r.commitLatency?.p99 ?? 0, '#2b6cb0'],
        ['to email at SMTP', r.emailLatency?.p99 ?? 0, '#805ad5'],
      ],
    })),
    latencyMax,
    'ms',
    [
      ['target 200 ms (email)', 200, '#805ad5'],
      ['target 20 ms (commit)', 20, '#2b6cb0'],
    ],
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" role="img" aria-label="Backfill throughput and live latency by cohort size">
<rect width="${W}" height="${H}" fill="white"/>${left}${right}
<text x="${W / 2}" y="${H - 8}" text-anchor="middle" font-size="11" fill="#555">npm run bench:backfill, ${new Date().toISOString().slice(0, 10)}, 2 cores, Node ${process.version}; blue = committed, purple = email handed to SMTP</text>
</svg>
`;
}

/**
 * BENCH_CHART_FROM=a.log,b.log: the chart again from the BENCH_RESULT lines of earlier runs (each size from the last
 * run that measured it), e.g. a size re-run on its own after a fix. The caption names the runs.
 */
function chartFromResults(files: string[]): void {
  type Result = {
    at: string;
    bullmqCeilingJobsPerSecond: number;
    naiveEventsPerSecond: number;
    growth: ReturnType<typeof summary>[];
  };
  const results = files.map((file) => {
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .reverse()
      .find((l) => l.startsWith('BENCH_RESULT '));
    if (!line) throw new Error(`${file} holds no BENCH_RESULT line`);
    return JSON.parse(line.slice('BENCH_RESULT '.length)) as Result;
  });
  const bySize = new Map<number, ServiceRun>();
  for (const r of results)
    for (const g of r.growth)
      bySize.set(g.patients, {
        patients: g.patients,
        events: g.events,
        workers: g.workers,
        door: { events: g.events, seconds: g.events / g.eventsPerSecond, perSecond: g.eventsPerSecond },
        settledSeconds: g.settledSeconds,
        analyzeSeconds: 0,
        rssMaxMb: g.rssMaxMb,
        rssBackfillMb: g.rssBackfillMb ?? g.rssMaxMb,
        cores: { ...g.cores, bench: 0 },
        tasks: 0,
        openTasks: 0,
        unroutedOpen: 0,
        emails: g.emails,
        failedBatches: 0,
        deadLetters: 0,
        commitLatency: { events: 0, p50: 0, p95: 0, p99: g.commitP99 ?? 0, max: 0 },
        emailLatency: { events: 0, p50: 0, p95: 0, p99: g.emailP99 ?? 0, max: 0 },
      });
  const last = results[results.length - 1];
  const runs = [...bySize.values()].sort((a, b) => a.patients - b.patients);
  const svg = growthChart(
    runs,
    { events: 0, seconds: 0, perSecond: last.naiveEventsPerSecond },
    { events: 0, seconds: 0, perSecond: last.bullmqCeilingJobsPerSecond },
  ).replace(
    /npm run bench:backfill, [0-9-]+/,
    `npm run bench:backfill, runs of ${results.map((r) => r.at.slice(0, 16)).join(' and ')}`,
  );
  writeFileSync(join(ROOT, 'docs', 'images', 'backfill-growth.svg'), svg);
  console.log(`chart written from ${files.join(', ')}: docs/images/backfill-growth.svg`);
}

async function main(): Promise<void> {
  if (process.env.BENCH_CHART_FROM) {
    chartFromResults(process.env.BENCH_CHART_FROM.split(','));
    return;
  }
  console.log(
    `backfill benchmark: growth ${GROWTH.join(', ')} patients × ${PER_PATIENT} events, batches of ${BATCH}; live ${RATE}/s for ${LATENCY_SECONDS} s; node ${process.version}`,
  );
  const bullmq = await ceiling();
  console.log(
    `\nBullMQ ceiling (no-op worker, concurrency ${CONCURRENCY}): ${count(bullmq.perSecond)} jobs/s (${count(bullmq.events)} jobs)`,
  );
  const naive = await naiveBaseline();
  console.log(
    `naive baseline (one transaction per event): ${count(naive.perSecond)} events/s (${count(naive.events)} events)`,
  );

  console.log('\ngrowth (1 worker process):');
  const growth: ServiceRun[] = [];
  for (const patients of GROWTH) {
    const run = await runService(patients, 1, true);
    growth.push(run);
    console.log(describe(run));
    console.log(
      `    = ${(run.door.perSecond / naive.perSecond).toFixed(2)}× the naive baseline, ${(run.door.perSecond / bullmq.perSecond).toFixed(2)}× the BullMQ ceiling`,
    );
  }

  console.log(`\nscale-out (${count(SCALE_PATIENTS)} patients):`);
  const scale: ServiceRun[] = [];
  for (const workers of SCALE_WORKERS) {
    const reuse = workers === 1 ? growth.find((r) => r.patients === SCALE_PATIENTS) : undefined;
    const run = reuse ?? (await runService(SCALE_PATIENTS, workers, false));
    scale.push(run);
    console.log(describe(run));
  }

  if (!SMALL) {
    mkdirSync(join(ROOT, 'docs', 'images'), { recursive: true });
    writeFileSync(join(ROOT, 'docs', 'images', 'backfill-growth.svg'), growthChart(growth, naive, bullmq));
    console.log('\nchart written: docs/images/backfill-growth.svg');
  }
  printResult('backfill', {
    bullmqCeilingJobsPerSecond: round(bullmq.perSecond, 0),
    naiveEventsPerSecond: round(naive.perSecond, 0),
    growth: growth.map(summary),
    scale: scale.map(summary),
  });
  process.exit(0);
}

function summary(r: ServiceRun) {
  return {
    patients: r.patients,
    events: r.events,
    workers: r.workers,
    eventsPerSecond: round(r.door.perSecond, 0),
    settledSeconds: round(r.settledSeconds),
    rssMaxMb: round(r.rssMaxMb, 0),
    rssBackfillMb: round(r.rssBackfillMb, 0),
    cores: { postgres: round(r.cores.postgres, 2), redis: round(r.cores.redis, 2), workers: round(r.cores.workers, 2) },
    commitP99: r.commitLatency?.p99,
    emailP99: r.emailLatency?.p99,
    emails: r.emails,
  };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
