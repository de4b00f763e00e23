/**
 * `npm run bench:sweeper`: one pass of the SurveillanceSweeper (libs/store/src/sweeper.ts, what the worker's timers
 * processor runs every SWEEP_EVERY_MS) over 100,000 patients' surveillance plans. Target: under 1 s.
 *
 * The data (bench/support/scale-database.ts, built once into sarcoma_bench_sweeper_seed and reused): 100,000
 * patients, ~67,000 of them in surveillance with their plans written 12 months ahead (~10 items each ahead, ~1.4M items
 * with the ones behind them), ~1,000,000 tasks, as the sweeper left them at its last pass. "now" is BENCH_GAP_HOURS
 * later (a day by default), so a pass finds that much work: items whose order time came (14 days before they are due),
 * items whose window closed, horizons to move on, escalations that came due. Each run works on a fresh copy of the
 * seed (sarcoma_bench_sweeper, dropped at the end), so every run starts from the same state.
 *
 * Passes: 1. at "now"; 2. again at "now" (finds nothing left: each pass is idempotent); 3. five minutes later (the next
 * scheduled pass on a normal day). Each pass prints where its time went, statement by statement. Between passes the
 * outbox rows and emails a pass wrote are taken as published and sent (the worker's relay and email delivery).
 *
 * Environment (full size / BENCH_SMALL=1):
 *   BENCH_PATIENTS   (100000 / 2000)
 *   BENCH_NAVIGATORS (50 / 8)          navigators added to the demo teams
 *   BENCH_GAP_HOURS  (24)              hours since the sweeper's last pass (its work grows with it; 1/12 is the
 *                                      normal SWEEP_EVERY_MS of five minutes)
 *   BENCH_NOW        (2026-12-01T08:00:00.000Z) the sweeper's last pass was a day before
 *   BENCH_REBUILD=1                    rebuild the seed database
 *   BENCH_PG_URL
 */
import { DEFAULT_ROUTING } from '@app/navigation';
import { DEFAULT_PATHWAY_CONFIG } from '@app/pathway';
import { CareTaskStore, NotificationStore, SurveillanceSweeper, createPool, type SweepReport } from '@app/store';
import type { Pool } from 'pg';
import { count, flag, printResult, round, size, SMALL, timed } from './support/bench-env';
import { ensureScaleData } from './support/scale-database';
import { copyDatabase, databaseUrl, dropDatabase, openScratchDatabase } from './support/scratch-database';
import { timedPool, type StatementTime } from './support/statement-timer';

const PATIENTS = size('BENCH_PATIENTS', 100_000, 2_000);
const EXTRA_NAVIGATORS = size('BENCH_NAVIGATORS', 50, 8);
const GAP_HOURS = size('BENCH_GAP_HOURS', 24, 24);
/** The data is as the sweeper left it a day before NOW (one seed for every gap); the passes run GAP_HOURS after that. */
const SEED_GAP_HOURS = 24;
const DATA_NOW = new Date(process.env.BENCH_NOW ?? '2026-12-01T08:00:00.000Z');
const NOW = new Date(DATA_NOW.getTime() + (GAP_HOURS - SEED_GAP_HOURS) * 3_600_000);
const SUFFIX = PATIENTS === 100_000 ? '' : `_${PATIENTS}`;
const SEED_DATABASE = `sarcoma_bench_sweeper_seed${SUFFIX}`;
const DATABASE = `sarcoma_bench_sweeper${SUFFIX}`;
const TARGET_SECONDS = 1;

/** What a pass at `now` should find (asked the way the sweeper asks, before it runs). */
async function due(pool: Pool, now: Date) {
  const lead = DEFAULT_PATHWAY_CONFIG.surveillance.orderLeadDays;
  const { rows } = await pool.query<Record<string, number>>(
    `SELECT
       (SELECT count(*)::int FROM surveillance_items WHERE status = 'planned' AND ordered_at IS NULL
           AND due_at <= $1::timestamptz + make_interval(days => $2)) AS "itemsToOrder",
       (SELECT count(*)::int FROM surveillance_items WHERE status = 'planned' AND overdue_task_at IS NULL
           AND overdue_at < $1) AS "itemsNewlyOverdue",
       (SELECT count(*)::int FROM surveillance_items WHERE status = 'planned') AS "itemsPlanned",
       (SELECT count(*)::int FROM surveillance_items) AS "items",
       (SELECT count(*)::int FROM patients WHERE state #>> '{surveillance,anchorEventId}' IS NOT NULL) AS "patientsWithPlan",
       (SELECT count(*)::int FROM tasks) AS "tasks"`,
    [now.toISOString(), lead],
  );
  return rows[0];
}

function printStatements(statements: StatementTime[], seconds: number): void {
  const total = statements.reduce((n, s) => n + s.ms, 0);
  console.log(`    statements: ${count(total)} ms of ${count(seconds * 1000)} ms (the rest is the sweeper's own work)`);
  for (const s of statements.slice(0, 8)) {
    console.log(`    ${s.ms.toFixed(0).padStart(6)} ms ${String(s.calls).padStart(5)} x  ${s.statement}`);
  }
}

async function main(): Promise<void> {
  console.log(
    `sweeper benchmark${SMALL ? ' (small)' : ''}: ${count(PATIENTS)} patients, last pass ${GAP_HOURS} h before ${NOW.toISOString()}; node ${process.version}`,
  );
  const rebuild = flag('BENCH_REBUILD', 'rebuild');
  const seed = await openScratchDatabase(SEED_DATABASE, { poolSize: 2, fresh: rebuild });
  try {
    const built = await ensureScaleData(
      seed.pool,
      {
        patients: PATIENTS,
        extraNavigators: EXTRA_NAVIGATORS,
        now: DATA_NOW.toISOString(),
        gapHours: SEED_GAP_HOURS,
      },
      rebuild,
    );
    console.log(
      built.built
        ? `seed database ${SEED_DATABASE} built in ${built.seconds.toFixed(0)} s`
        : `seed database ${SEED_DATABASE} reused (BENCH_REBUILD=1 rebuilds it)`,
    );
  } finally {
    await seed.pool.end();
  }
  const copied = await timed(() => copyDatabase(SEED_DATABASE, DATABASE));
  console.log(`fresh copy ${DATABASE} in ${copied.seconds.toFixed(1)} s`);

  const raw = createPool(databaseUrl(DATABASE), 4);
  const passes: { label: string; seconds: number; report: SweepReport }[] = [];
  try {
    await raw.query('ANALYZE');
    const before = await due(raw, NOW);
    console.log(
      `data: ${count(before.patientsWithPlan)} patients with a plan, ${count(before.items)} surveillance items (${count(before.itemsPlanned)} planned), ${count(before.tasks)} tasks`,
    );
    console.log(
      `due at ${NOW.toISOString()}: ${count(before.itemsToOrder)} items to order, ${count(before.itemsNewlyOverdue)} items newly overdue`,
    );
    const { pool, take } = timedPool(raw);
    const config = DEFAULT_PATHWAY_CONFIG;
    const sweeper = new SurveillanceSweeper(
      pool,
      config,
      new CareTaskStore(pool, DEFAULT_ROUTING, config),
      new NotificationStore(pool),
    );
    const runs: [string, Date][] = [
      [`pass 1 (${GAP_HOURS} h of work)`, NOW],
      ['pass 2 (same time again)', NOW],
      ['pass 3 (five minutes later)', new Date(NOW.getTime() + 5 * 60_000)],
    ];
    for (const [label, at] of runs) {
      take();
      const { result: report, seconds } = await timed(() => sweeper.sweep(at));
      passes.push({ label, seconds, report });
      const work = Object.entries(report)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${count(n)}`)
        .join(', ');
      console.log(
        `\n${label}: ${seconds.toFixed(3)} s${seconds < TARGET_SECONDS ? '' : ' (target < 1 s)'}: ${work || 'nothing to do'}`,
      );
      printStatements(take(), seconds);
      // Between passes the worker does its part: the outbox relay publishes the rows, email delivery sends them.
      await raw.query('DELETE FROM outbox');
      await raw.query(`UPDATE notifications SET status = 'sent', sent_at = $1 WHERE status = 'pending'`, [at]);
    }
  } finally {
    await raw.end();
    await dropDatabase(DATABASE);
  }
  printResult('sweeper', {
    patients: PATIENTS,
    gapHours: GAP_HOURS,
    passes: passes.map((p) => ({ label: p.label, seconds: round(p.seconds, 3), ...p.report })),
    targetSeconds: TARGET_SECONDS,
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
