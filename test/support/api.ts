import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { Pool } from 'pg';
import type { ServiceConfig } from '@app/config';
import { loadCareTeamSeed, seedCareTeams, type Clock } from '@app/store';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { REDIS_URL } from './queues';

/** The api in this process on a free port (real Redis and PostgreSQL), with its base URL. */
export async function startApi(setup: {
  databaseUrl: string;
  prefix: string;
  clock?: Clock;
  config?: Partial<ServiceConfig>;
}): Promise<{ app: INestApplication; base: string }> {
  const app = await createApiApp({
    config: {
      DATABASE_URL: setup.databaseUrl,
      REDIS_URL,
      QUEUE_PREFIX: setup.prefix,
      LOG_LEVEL: 'error',
      ...setup.config,
    },
    clock: setup.clock,
  });
  await app.listen(0, '127.0.0.1');
  return { app, base: await app.getUrl() };
}

/** The demo's teams, members and keys (config/demo-teams.json): demo-admin-key, demo-lead-key, ... */
export async function seedDemoTeams(pool: Pool): Promise<void> {
  await seedCareTeams(pool, loadCareTeamSeed(join(__dirname, '..', '..', 'config', 'demo-teams.json')));
}
