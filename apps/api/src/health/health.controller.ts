import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../access/roles.decorator';
import { MigrationsHealthIndicator, PostgresHealthIndicator } from './postgres.health';
import { QueuesHealthIndicator, RedisHealthIndicator } from './redis.health';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly postgres: PostgresHealthIndicator,
    private readonly migrations: MigrationsHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly queues: QueuesHealthIndicator,
  ) {}

  /**
   * Not through HealthCheckService: it answers 503 once shutdown starts, and a failed liveness probe gets the
   * process killed in the middle of its graceful drain. Alive means this handler runs.
   */
  @Get()
  @ApiOperation({ summary: 'Liveness: the process answers (touches neither PostgreSQL nor Redis)' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness: PostgreSQL reachable and migrated, Redis reachable, clinical-events job counts',
    description: '503 with the failing checks under `error` when any is down, or while the process shuts down.',
  })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.postgres.check(),
      () => this.migrations.check(),
      () => this.redis.check(),
      () => this.queues.check(),
    ]);
  }
}
