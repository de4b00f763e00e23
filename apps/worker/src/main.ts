import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@app/config';
import { appLogger } from '@app/platform';
import { ensureDatabase, migrate } from '@app/store';
import { WorkerModule } from './worker.module';

/** The worker: BullMQ processors for clinical events and the outbox relay. Migrates before it consumes. */
async function bootstrap(): Promise<void> {
  const config = loadConfig();
  await ensureDatabase(config.DATABASE_URL);
  const { applied } = await migrate(config.DATABASE_URL);
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(), {
    logger: appLogger('worker', config),
  });
  app.enableShutdownHooks();
  new Logger('Worker').log(
    `consuming (${config.WORKER_ROLES}); migrations applied now: ${applied.length ? applied.join(', ') : 'none'}`,
  );
}

bootstrap().catch((err: Error) => {
  new Logger('Worker').error(`failed to start: ${err.message}`);
  process.exit(1);
});
