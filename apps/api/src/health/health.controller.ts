import { InjectQueue } from '@nestjs/bullmq';
import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Queue } from 'bullmq';
import type { Pool } from 'pg';
import { CLINICAL_EVENTS_QUEUE } from '@app/contracts';
import { PG_POOL } from '@app/platform';
import { pendingMigrations } from '@app/store';
import { Public } from '../access/roles.decorator';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @InjectQueue(CLINICAL_EVENTS_QUEUE) private readonly queue: Queue,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: PostgreSQL reachable and migrated, Redis reachable' })
  async ready(): Promise<{ status: 'ok'; checks: Record<string, string> }> {
    const checks: Record<string, string> = {};
    await Promise.all([
      this.pool
        .query('SELECT 1')
        .then(async () => {
          const pending = await pendingMigrations((sql) => this.pool.query(sql));
          checks.postgres = 'up';
          checks.migrations = pending.length === 0 ? 'current' : `pending: ${pending.join(', ')}`;
        })
        .catch((err: Error) => (checks.postgres = `down: ${err.message}`)),
      this.queue
        .getJobCounts('waiting', 'active', 'failed')
        .then(
          (counts) =>
            (checks.queue = `up (waiting ${counts.waiting}, active ${counts.active}, failed ${counts.failed})`),
        )
        .catch((err: Error) => (checks.queue = `down: ${err.message}`)),
    ]);
    const ok = checks.postgres === 'up' && checks.migrations === 'current' && checks.queue?.startsWith('up');
    if (!ok) throw new ServiceUnavailableException({ status: 'unavailable', checks });
    return { status: 'ok', checks };
  }
}
