/**
 * The worker as apps/worker/src/main.ts starts it (migrate, then consume, SIGTERM drains), with one difference for
 * the fault suite: the clock is fixed at FAULT_CLOCK_AT (an ISO instant), so a process killed and started again
 * stamps the same times and the sweeper, which runs when each worker starts, does the same (nothing) every time.
 * Started by spawnFaultWorker (test/support/faults.ts), never by hand.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@app/config';
import { appLogger } from '@app/platform';
import { ensureDatabase, FakeClock, migrate } from '@app/store';
import { WorkerModule } from '../../apps/worker/src/worker.module';

async function bootstrap(): Promise<void> {
  const at = process.env.FAULT_CLOCK_AT;
  if (!at || Number.isNaN(Date.parse(at))) throw new Error('FAULT_CLOCK_AT must be an ISO instant');
  const config = loadConfig();
  await ensureDatabase(config.DATABASE_URL);
  await migrate(config.DATABASE_URL);
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot({ clock: new FakeClock(new Date(at)) }), {
    logger: appLogger('worker', config),
  });
  app.enableShutdownHooks();
  new Logger('Worker').log('consuming (fault suite: fixed clock)');
}

bootstrap().catch((err: Error) => {
  new Logger('Worker').error(`failed to start: ${err.message}`);
  process.exit(1);
});
