import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { Pool } from 'pg';
import { PG_POOL } from '@app/platform';
import { listMigrations, pendingMigrations } from '@app/store';
import { reason, withTimeout } from './check-timeout';

/** PostgreSQL answers a trivial query on the api's own pool (the connections requests use). */
@Injectable()
export class PostgresHealthIndicator {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly health: HealthIndicatorService,
  ) {}

  async check(key = 'postgres'): Promise<HealthIndicatorResult> {
    const session = this.health.check(key);
    try {
      await withTimeout(this.pool.query('SELECT 1'));
      return session.up();
    } catch (err) {
      return session.down({ message: reason(err) });
    }
  }
}

/** Every migration this build ships is applied: an older schema under newer code is not ready. */
@Injectable()
export class MigrationsHealthIndicator {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly health: HealthIndicatorService,
  ) {}

  async check(key = 'migrations'): Promise<HealthIndicatorResult> {
    const session = this.health.check(key);
    let pending: string[];
    try {
      pending = await withTimeout(pendingMigrations((sql) => this.pool.query<{ name: string }>(sql)));
    } catch (err) {
      // 42P01: no schema_migrations table, i.e. a database never migrated: everything is pending.
      if ((err as { code?: string }).code !== '42P01') return session.down({ message: reason(err) });
      pending = listMigrations();
    }
    if (pending.length > 0) return session.down({ pending });
    return session.up({ latest: listMigrations().at(-1) ?? null });
  }
}
