/**
 * `npm run bench`: every benchmark, one after the other (each in its own process, so one's memory and
 * connections do not colour the next), then one summary of the figures docs/performance.md quotes.
 * `BENCH_SMALL=1 npm run bench` runs each at a small size, to check the scripts in a few minutes.
 * `BENCH_ONLY=backfill,sweeper` runs some. Benchmarks print figures; they never fail on a number.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ALL = ['door', 'backfill', 're-evaluation', 'worklist', 'sweeper'] as const;
const SCRIPT: Record<(typeof ALL)[number], string> = {
  door: 'pathway-throughput.js',
  backfill: 'backfill.js',
  're-evaluation': 're-evaluation.js',
  worklist: 'worklist.js',
  sweeper: 'sweeper.js',
};

function run(name: (typeof ALL)[number]): Promise<{ code: number | null; result: Record<string, unknown> | null }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--max-old-space-size=6144', '-r', 'tsconfig-paths/register', join(__dirname, SCRIPT[name])],
      { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let result: Record<string, unknown> | null = null;
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('BENCH_RESULT ')) result = JSON.parse(line.slice('BENCH_RESULT '.length));
      }
    });
    child.on('exit', (code) => resolve({ code, result }));
  });
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
  const chosen = ALL.filter((name) => !only || only.includes(name));
  const results: Record<string, unknown> = {};
  for (const name of chosen) {
    console.log(`\n======== ${name} ========`);
    const started = Date.now();
    const { code, result } = await run(name);
    console.log(`(${name}: ${((Date.now() - started) / 1000).toFixed(0)} s${code === 0 ? '' : `, exit code ${code}`})`);
    results[name] = result ?? { failed: true, code };
  }
  console.log('\n======== summary (JSON) ========');
  console.log(JSON.stringify(results, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
