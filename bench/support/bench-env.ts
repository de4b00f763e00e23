/**
 * Shared by the scale benchmarks (re-evaluation, worklist, sweeper): sizes from the environment with the issue's
 * sizes as defaults and a small mode for a quick check, percentiles, and the one-line machine-readable summary a
 * driver collects. Benchmarks print figures; they never fail on a number.
 */

/** `BENCH_SMALL=1` (or `--small`): every size defaults to its small value, for a quick check of the script. */
export const SMALL = process.env.BENCH_SMALL === '1' || process.argv.includes('--small');

/** A size from the environment (`name`), else the full size, or the small one in small mode. */
export function size(name: string, full: number, small: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return SMALL ? small : full;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, not '${raw}'`);
  return value;
}

/** A yes/no switch: `1`, `true` or `yes` (or `--<flag>` on the command line). */
export function flag(name: string, argument?: string): boolean {
  const raw = (process.env[name] ?? '').toLowerCase();
  return raw === '1' || raw === 'true' || raw === 'yes' || (!!argument && process.argv.includes(`--${argument}`));
}

/** Where PostgreSQL is (no database name): the scratch databases are created beside the others. */
export const PG_BASE_URL = (process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');

/** Elapsed seconds since `start` (process.hrtime.bigint()). */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Runs `work` and returns its result with the seconds it took. */
export async function timed<T>(work: () => Promise<T> | T): Promise<{ result: T; seconds: number }> {
  const start = process.hrtime.bigint();
  const result = await work();
  return { result, seconds: secondsSince(start) };
}

/** Nearest-rank percentile of sorted values (q in 0..1). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

/** 1234567 -> "1,234,567". */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-GB');
}

/** Rounds for the summary line (figures, not measurements to many places). */
export function round(n: number, places = 1): number {
  const f = 10 ** places;
  return Math.round(n * f) / f;
}

/** The last line a benchmark prints: `BENCH_RESULT {...}` (one line of JSON), for a driver to collect. */
export function printResult(bench: string, figures: Record<string, unknown>): void {
  console.log(
    `BENCH_RESULT ${JSON.stringify({ bench, small: SMALL, node: process.version, at: new Date().toISOString(), ...figures })}`,
  );
}
