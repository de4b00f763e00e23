/**
 * `npm run bench:worklist`: `GET /worklist` at scale. A scratch database with 100,000 patients and ~1,000,000 tasks
 * routed to the demo care teams and 50 more navigators (bench/support/scale-database.ts; built once with set-based
 * SQL, then reused), the real api (apps/api) in a process of its own, and autocannon with one connection per
 * navigator, each with that navigator's API key, cycling through a mix of filters (mine and team, type, priority,
 * overdue, due date, second pages).
 *
 * 1. Paced: every navigator asks `BENCH_RATE` times a second on average, at random moments of their own (a busy day
 *    is a page every few seconds; 2/s is well above it). Target: p99 < 50 ms.
 *    Beside it, a baseline at the same rate: `GET /health` (no key, no database), what the machine and the HTTP stack
 *    cost on their own at that moment; and the same rate in lockstep (autocannon's connectionRate: all connections'
 *    requests at the same instant each second), the worst case of the same load.
 * 2. Saturation: the same connections as fast as the api answers (closed loop): the most it serves, and the latency
 *    then (which is mostly queueing: 50 requests in flight on two cores).
 * 3. The worklist's SQL (PathwayReadModels.worklist, captured as the api runs it): each filter timed on its own in
 *    the database, and `EXPLAIN (ANALYZE, BUFFERS)` of the heaviest ones, to show which index serves them.
 *
 * Environment (full size / BENCH_SMALL=1):
 *   BENCH_PATIENTS    (100000 / 2000)  patients (tasks scale with them: ~10 a patient)
 *   BENCH_NAVIGATORS  (50 / 8)         navigators added to the demo teams (the demo has one a team)
 *   BENCH_CONNECTIONS (50 / 8)         concurrent navigators (autocannon connections), each with its own key
 *   BENCH_RATE        (2)              requests a second per navigator in the paced run
 *   BENCH_SECONDS     (30 / 5)         length of each run
 *   BENCH_NOW         (2026-12-01T08:00:00.000Z) the data's "now" and the api's clock
 *   BENCH_REBUILD=1                    rebuild the scratch database (sarcoma_bench_worklist; another size gets
 *                                      its own: sarcoma_bench_worklist_<patients>)
 *   BENCH_API_PROFILE=<dir>            the api writes a CPU profile (node --cpu-prof) into <dir> when it stops
 *   BENCH_PG_URL, REDIS_URL            where PostgreSQL and Redis are
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { Pool } from 'pg';
import { PathwayReadModels, type WorklistQuery } from '@app/store';
import { count, flag, percentile, printResult, round, size, SMALL } from './support/bench-env';
import { ensureScaleData, navigators, type Navigator } from './support/scale-database';
import { openScratchDatabase } from './support/scratch-database';

const PATIENTS = size('BENCH_PATIENTS', 100_000, 2_000);
const EXTRA_NAVIGATORS = size('BENCH_NAVIGATORS', 50, 8);
const CONNECTIONS = Math.max(1, size('BENCH_CONNECTIONS', 50, 8));
const RATE = size('BENCH_RATE', 2, 2);
const SECONDS = Math.max(1, size('BENCH_SECONDS', 30, 5));
const NOW = new Date(process.env.BENCH_NOW ?? '2026-12-01T08:00:00.000Z').toISOString();
const GAP_HOURS = size('BENCH_GAP_HOURS', 24, 24);
const DATABASE = PATIENTS === 100_000 ? 'sarcoma_bench_worklist' : `sarcoma_bench_worklist_${PATIENTS}`;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TARGET_P99_MS = 50;

const DUE_SOON = new Date(Date.parse(NOW) + 14 * 86_400_000).toISOString();

/** What navigators ask for, each connection cycling through it from its own starting point. */
const MIX: { label: string; query: string }[] = [
  { label: 'mine', query: '' },
  { label: 'team', query: 'scope=team' },
  { label: 'mine, overdue', query: 'overdue=true' },
  { label: 'mine, urgent', query: 'priority=urgent' },
  { label: 'mine, imaging-order', query: 'type=imaging-order' },
  { label: 'team, overdue', query: 'scope=team&overdue=true' },
  { label: 'mine, page 2', query: 'offset=50' },
  { label: 'team, high, page 2', query: 'scope=team&priority=high&offset=50' },
  { label: 'mine, visit-reminder due in 14 d', query: `type=visit-reminder&dueBefore=${DUE_SOON}` },
  { label: 'team, surveillance-overdue', query: 'scope=team&type=surveillance-overdue' },
];

/** The worklist read model's arguments for one mix entry, as the controller builds them. */
function worklistQuery(query: string, navigator: Navigator): WorklistQuery {
  const q = new URLSearchParams(query);
  return {
    ...(q.get('scope') === 'team' ? { teamCode: navigator.teamCode } : { assigneeId: navigator.memberId }),
    type: q.get('type') ?? undefined,
    priority: q.get('priority') ?? undefined,
    overdue: q.get('overdue') === 'true' || undefined,
    dueBefore: q.get('dueBefore') ?? undefined,
    now: new Date(NOW),
    limit: 50,
    offset: Number(q.get('offset') ?? 0),
  };
}

/** The navigators the connections act as: spread over the teams, the busiest first within each. */
function pickNavigators(all: Navigator[], wanted: number): Navigator[] {
  const byTeam = new Map<string, Navigator[]>();
  for (const n of all) byTeam.set(n.teamCode, [...(byTeam.get(n.teamCode) ?? []), n]);
  const picked: Navigator[] = [];
  for (let round = 0; picked.length < wanted && round < all.length; round += 1) {
    for (const team of byTeam.values()) if (round < team.length && picked.length < wanted) picked.push(team[round]);
  }
  // more connections than navigators: keys are shared
  for (let i = 0; picked.length < wanted; i += 1) picked.push(all[i % all.length]);
  return picked;
}

async function startApi(databaseUrl: string): Promise<{ base: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      // BENCH_API_PROFILE=<dir>: the api writes a CPU profile there when it stops
      ...(process.env.BENCH_API_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_API_PROFILE}`] : []),
      '-r',
      'tsconfig-paths/register',
      join(__dirname, 'support', 'api-process.js'),
    ],
    {
      env: {
        ...process.env,
        TS_NODE_BASEURL: join(__dirname, '..'),
        DATABASE_URL: databaseUrl,
        BENCH_NOW: NOW,
        REDIS_URL,
        QUEUE_PREFIX: `bench-worklist-${process.pid}`,
        MLLP_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const base = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.startsWith('LISTENING ')) resolve(line.slice('LISTENING '.length).replace('[::1]', '127.0.0.1'));
    });
    child.once('exit', (code) => reject(new Error(`the api exited with ${code} before listening`)));
  });
  return { base, child };
}

async function stopApi(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux; null elsewhere). */
function cpuMs(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, in ticks of 10 ms (USER_HZ 100)
  } catch {
    return null;
  }
}

/**
 * CPU used by the api process and by the PostgreSQL backends serving it while `work` runs, per request: what a request
 * costs whatever the machine's load (which stretches wall-clock latency, not CPU time).
 */
async function cpuPerRequest(pool: Pool, api: ChildProcess, work: () => Promise<Run>) {
  const backends = async () =>
    (
      await pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      )
    ).rows.map((r) => r.pid);
  const apiBefore = cpuMs(api.pid);
  const before = new Map((await backends()).map((pid) => [pid, cpuMs(pid) ?? 0]));
  const run = await work();
  const apiAfter = cpuMs(api.pid);
  const pids = await backends();
  // backends that lived through the run count from their start of it; new ones from zero
  const database = pids.reduce((n, pid) => n + (cpuMs(pid) ?? 0) - (before.get(pid) ?? 0), 0);
  return {
    run,
    apiMsPerRequest: apiBefore === null || apiAfter === null ? null : (apiAfter - apiBefore) / run.requests,
    databaseMsPerRequest: database / run.requests,
  };
}

interface Run {
  requests: number;
  perSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  byLabel: Map<string, number[]>;
}

/** The baseline's "mix": `GET /health` (no key, no database): what the machine and the HTTP stack cost alone. */
const HEALTH = [{ label: 'GET /health', query: '' }];

/**
 * One autocannon run: a connection per navigator, each with its key and its own turn through the mix (or, for the
 * baseline, `GET /health` on every connection).
 */
async function load(
  base: string,
  picked: Navigator[],
  rate: number | null,
  seconds: number,
  baseline = false,
): Promise<Run> {
  const mix = baseline ? HEALTH : MIX;
  let connection = 0;
  const turn = new Map<autocannon.Client, { start: number; n: number }>();
  const byLabel = new Map<string, number[]>(mix.map((m) => [m.label, []]));
  const instance = autocannon({
    url: base,
    connections: picked.length,
    duration: seconds,
    timeout: 30,
    ...(rate ? { connectionRate: rate } : {}),
    setupClient: (client) => {
      const i = connection++;
      const navigator = picked[i % picked.length];
      const start = i % mix.length;
      turn.set(client, { start, n: 0 });
      client.setRequests(
        mix
          .map((_, k) => mix[(start + k) % mix.length])
          .map((m) =>
            baseline
              ? { method: 'GET', path: '/health' }
              : {
                  method: 'GET',
                  path: `/worklist${m.query ? `?${m.query}` : ''}`,
                  headers: { authorization: `Bearer ${navigator.secret}` },
                },
          ),
      );
    },
  });
  instance.on('response', (client, _status, _bytes, responseTime) => {
    const t = turn.get(client);
    if (!t) return;
    byLabel.get(mix[(t.start + t.n) % mix.length].label)!.push(responseTime);
    t.n += 1;
  });
  const result = await instance;
  return {
    requests: result.requests.total,
    perSecond: result.requests.total / result.duration,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    byLabel,
  };
}

/**
 * Navigators as they are: each on their own keep-alive connection, asking at `rate` a second on average at random
 * moments (Poisson arrivals), independently of the others. autocannon's `connectionRate` instead sends each
 * connection's requests back to back at the start of every second, all connections on the same tick: 50 navigators
 * x 2 a second arrive as one burst of 100, and the last waits for the 99 before it (measured: p99 ~100 ms from that
 * queue alone on two cores). Latency runs from the moment a request was due, so a navigator whose previous request
 * is still out counts the wait (no coordinated omission).
 */
async function independentNavigators(
  base: string,
  picked: Navigator[],
  rate: number,
  seconds: number,
  baseline = false,
): Promise<Run> {
  const mix = baseline ? HEALTH : MIX;
  const { hostname, port } = new URL(base);
  const byLabel = new Map<string, number[]>(mix.map((m) => [m.label, []]));
  const all: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const until = performance.now() + seconds * 1000;
  const one = (agent: Agent, navigator: Navigator, m: (typeof mix)[number], due: number) =>
    new Promise<void>((resolve) => {
      const req = request(
        {
          host: hostname,
          port,
          agent,
          path: baseline ? '/health' : `/worklist${m.query ? `?${m.query}` : ''}`,
          headers: baseline ? {} : { authorization: `Bearer ${navigator.secret}` },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            const ms = performance.now() - due;
            all.push(ms);
            byLabel.get(m.label)!.push(ms);
            if (res.statusCode! < 200 || res.statusCode! > 299) non2xx += 1;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors += 1;
        resolve();
      });
      req.end();
    });
  const navigatorLoop = async (navigator: Navigator, i: number) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const inFlight: Promise<void>[] = [];
    let due = performance.now() + Math.random() * (1000 / rate);
    for (let n = 0; due < until; n += 1) {
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      inFlight.push(one(agent, navigator, mix[(i + n) % mix.length], due));
      due += (-Math.log(1 - Math.random()) * 1000) / rate;
    }
    await Promise.all(inFlight);
    agent.destroy();
  };
  const started = performance.now();
  await Promise.all(picked.map((navigator, i) => navigatorLoop(navigator, i)));
  const sorted = [...all].sort((a, b) => a - b);
  const ms = (q: number) => Math.round(percentile(sorted, q));
  return {
    requests: sorted.length,
    perSecond: sorted.length / ((performance.now() - started) / 1000),
    p50: ms(0.5),
    p90: ms(0.9),
    p99: ms(0.99),
    max: Math.round(sorted[sorted.length - 1] ?? NaN),
    non2xx,
    errors,
    byLabel,
  };
}

function printRun(title: string, run: Run): void {
  console.log(`\n${title}`);
  console.log(
    `  ${count(run.requests)} requests, ${count(run.perSecond)}/s; latency p50 ${run.p50} ms, p90 ${run.p90} ms, p99 ${run.p99} ms, max ${run.max} ms; non-2xx ${run.non2xx}, errors ${run.errors}`,
  );
  console.log('  by filter (p50 / p99 / max ms, as each connection saw it):');
  for (const [label, times] of run.byLabel) {
    const sorted = [...times].sort((a, b) => a - b);
    if (sorted.length === 0) continue;
    console.log(
      `    ${label.padEnd(34)} ${String(sorted.length).padStart(6)}  ${percentile(sorted, 0.5).toFixed(1).padStart(6)} / ${percentile(sorted, 0.99).toFixed(1).padStart(6)} / ${sorted[sorted.length - 1].toFixed(1).padStart(6)}`,
    );
  }
}

/** A pool that records the statements the read model sends (and runs them): the worklist's SQL, exactly. */
function recording(pool: Pool, into: { text: string; values: unknown[] }[]): Pool {
  return {
    query: (text: string, values: unknown[]) => {
      into.push({ text, values });
      return pool.query(text, values);
    },
  } as unknown as Pool;
}

/** Each filter's statement timed in the database alone (no HTTP, no Nest), for the busiest navigator. */
async function databaseOnly(pool: Pool, navigator: Navigator, times = 20) {
  const readModels = new PathwayReadModels(pool);
  const rows: { label: string; p50: number; max: number; total: number }[] = [];
  for (const m of MIX) {
    const query = worklistQuery(m.query, navigator);
    const ms: number[] = [];
    let total = 0;
    for (let i = 0; i < times; i += 1) {
      const start = process.hrtime.bigint();
      total = (await readModels.worklist(query)).total;
      ms.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    ms.sort((a, b) => a - b);
    rows.push({ label: m.label, p50: percentile(ms, 0.5), max: ms[ms.length - 1], total });
  }
  return rows;
}

async function explain(pool: Pool, navigator: Navigator, labels: string[]): Promise<void> {
  for (const label of labels) {
    const m = MIX.find((x) => x.label === label)!;
    const statements: { text: string; values: unknown[] }[] = [];
    await new PathwayReadModels(recording(pool, statements)).worklist(worklistQuery(m.query, navigator));
    const { text, values } = statements[0];
    const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, values);
    console.log(`\n  EXPLAIN (ANALYZE, BUFFERS): ${label} (GET /worklist${m.query ? `?${m.query}` : ''})`);
    for (const r of rows) console.log(`    ${r['QUERY PLAN']}`);
  }
}

async function main(): Promise<void> {
  console.log(
    `worklist benchmark${SMALL ? ' (small)' : ''}: ${count(PATIENTS)} patients, ${CONNECTIONS} navigators at once; node ${process.version}`,
  );
  const rebuild = flag('BENCH_REBUILD', 'rebuild');
  const { url, pool } = await openScratchDatabase(DATABASE, { poolSize: 4, fresh: rebuild });
  let api: ChildProcess | null = null;
  try {
    const built = await ensureScaleData(
      pool,
      { patients: PATIENTS, extraNavigators: EXTRA_NAVIGATORS, now: NOW, gapHours: GAP_HOURS },
      rebuild,
    );
    console.log(
      built.built
        ? `scratch database ${DATABASE} built in ${built.seconds.toFixed(0)} s`
        : `scratch database ${DATABASE} reused (BENCH_REBUILD=1 rebuilds it)`,
    );
    await pool.query('ANALYZE tasks');
    const { rows: shape } = await pool.query<{ total: number; open: number; overdue: number; urgent: number }>(
      `SELECT count(*)::int AS total,
              count(*) FILTER (WHERE status IN ('requested', 'accepted', 'in-progress', 'on-hold'))::int AS open,
              count(*) FILTER (WHERE status IN ('requested', 'accepted', 'in-progress', 'on-hold') AND due_at < $1)::int AS overdue,
              count(*) FILTER (WHERE status IN ('requested', 'accepted', 'in-progress', 'on-hold') AND priority = 'urgent')::int AS urgent
         FROM tasks`,
      [NOW],
    );
    const all = await navigators(pool);
    const picked = pickNavigators(all, CONNECTIONS);
    const { rows: loads } = await pool.query<{ member: string; team: string; open: number }>(
      `SELECT assignee_id AS member, team_code AS team, count(*)::int AS open FROM tasks
        WHERE status IN ('requested', 'accepted', 'in-progress', 'on-hold') GROUP BY 1, 2 ORDER BY 3 DESC`,
    );
    const { rows: teams } = await pool.query<{ team: string; open: number }>(
      `SELECT team_code AS team, count(*)::int AS open FROM tasks
        WHERE status IN ('requested', 'accepted', 'in-progress', 'on-hold') GROUP BY 1 ORDER BY 2 DESC`,
    );
    const s = shape[0];
    console.log(
      `tasks: ${count(s.total)} (${count(s.open)} open: ${count(s.overdue)} overdue, ${count(s.urgent)} urgent); ${all.length} navigators with keys, ${picked.length} connections (${new Set(picked.map((p) => p.secret)).size} distinct keys)`,
    );
    console.log(
      `open tasks per navigator: max ${loads[0]?.open ?? 0}, median ${loads[Math.floor(loads.length / 2)]?.open ?? 0}; per team: ${teams.map((t) => `${t.team} ${count(t.open)}`).join(', ')}`,
    );

    const started = await startApi(url);
    api = started.child;
    // warm-up: every key resolved and cached, every statement planned, JIT warm
    await load(started.base, picked, null, Math.min(5, SECONDS));
    const baseline = await independentNavigators(started.base, picked, RATE, Math.min(10, SECONDS), true);
    printRun(
      `baseline: GET /health (no key, no database), ${picked.length} navigators x ${RATE} requests/s, each at random moments, for ${Math.min(10, SECONDS)} s`,
      baseline,
    );
    const pacedCpu = await cpuPerRequest(pool, api, () => independentNavigators(started.base, picked, RATE, SECONDS));
    const paced = pacedCpu.run;
    printRun(
      `paced: ${picked.length} navigators x ${RATE} requests/s, each at random moments, for ${SECONDS} s (target p99 < ${TARGET_P99_MS} ms)`,
      paced,
    );
    printCpu(pacedCpu);
    // the same rate in lockstep (autocannon's connectionRate): every connection's requests at once, every second
    const lockstep = await load(started.base, picked, RATE, SECONDS);
    printRun(
      `lockstep: ${picked.length} connections x ${RATE} requests/s, all sent at the same instant each second (autocannon connectionRate), ${SECONDS} s`,
      lockstep,
    );
    const saturatedCpu = await cpuPerRequest(pool, api, () => load(started.base, picked, null, SECONDS));
    const saturated = saturatedCpu.run;
    printRun(`saturation: ${picked.length} connections, closed loop, ${SECONDS} s`, saturated);
    printCpu(saturatedCpu);
    await stopApi(api);
    api = null;

    const busiest = all.find((n) => n.memberId === loads[0]?.member) ?? picked[0];
    console.log(
      `\nthe worklist's SQL in the database alone (busiest navigator, team ${busiest.teamCode}; 20 runs each):`,
    );
    for (const r of await databaseOnly(pool, busiest)) {
      console.log(
        `  ${r.label.padEnd(34)} total ${String(r.total).padStart(6)}   p50 ${r.p50.toFixed(2).padStart(7)} ms   max ${r.max.toFixed(2).padStart(7)} ms`,
      );
    }
    await explain(pool, busiest, ['mine', 'team', 'team, overdue']);

    printResult('worklist', {
      patients: PATIENTS,
      tasks: s.total,
      openTasks: s.open,
      connections: picked.length,
      distinctKeys: new Set(picked.map((p) => p.secret)).size,
      baseline: summary(baseline, RATE),
      paced: { ...summary(paced, RATE), ...cpuSummary(pacedCpu) },
      lockstep: summary(lockstep, RATE),
      saturation: { ...summary(saturated, null), ...cpuSummary(saturatedCpu) },
      targetP99Ms: TARGET_P99_MS,
    });
  } finally {
    if (api) await stopApi(api);
    await pool.end();
  }
}

type CpuFigures = Awaited<ReturnType<typeof cpuPerRequest>>;

function printCpu(cpu: CpuFigures): void {
  if (cpu.apiMsPerRequest === null) return;
  console.log(
    `  CPU per request: api process ${cpu.apiMsPerRequest.toFixed(2)} ms, PostgreSQL ${cpu.databaseMsPerRequest.toFixed(2)} ms (the machine's load stretches latency, not these)`,
  );
}

function cpuSummary(cpu: CpuFigures) {
  return {
    apiCpuMsPerRequest: cpu.apiMsPerRequest === null ? null : round(cpu.apiMsPerRequest, 2),
    databaseCpuMsPerRequest: round(cpu.databaseMsPerRequest, 2),
  };
}

function summary(run: Run, rate: number | null) {
  return {
    ratePerConnection: rate,
    requests: run.requests,
    perSecond: round(run.perSecond, 0),
    p50Ms: run.p50,
    p90Ms: run.p90,
    p99Ms: run.p99,
    maxMs: run.max,
    non2xx: run.non2xx,
    errors: run.errors,
  };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
