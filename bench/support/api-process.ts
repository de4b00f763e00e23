/**
 * The real api (apps/api) as a process of its own for the worklist benchmark: its own event loop and core, as
 * deployed, while the load generator runs in the benchmark's process. Its clock is fixed at BENCH_NOW (the scale
 * data's "now"), so "overdue" means the same on every run. Prints `LISTENING <url>` once it accepts requests.
 *
 * Environment: DATABASE_URL, BENCH_NOW, REDIS_URL, QUEUE_PREFIX (the api's producer queues), PG_POOL_SIZE.
 */
import 'reflect-metadata';
import { FakeClock } from '@app/store';
import { createApiApp } from '../../apps/api/src/bootstrap';

async function main(): Promise<void> {
  const now = process.env.BENCH_NOW;
  if (!now || !process.env.DATABASE_URL) throw new Error('DATABASE_URL and BENCH_NOW are required');
  const app = await createApiApp({
    config: { LOG_LEVEL: 'error', MLLP_PORT: 0 },
    clock: new FakeClock(new Date(now)),
  });
  await app.listen(0, '127.0.0.1');
  console.log(`LISTENING ${await app.getUrl()}`);
  const stop = () => {
    void app.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
