import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadConfig } from '@app/config';
import { ensureDatabase, migrate } from '@app/store';
import { createApiApp } from './bootstrap';

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  await ensureDatabase(config.DATABASE_URL);
  await migrate(config.DATABASE_URL);
  const app = await createApiApp();
  await app.listen(config.PORT);
  new Logger('Api').log(`listening on :${config.PORT} (OpenAPI at /docs)`);
}

bootstrap().catch((err: Error) => {
  new Logger('Api').error(`failed to start: ${err.message}`);
  process.exit(1);
});
