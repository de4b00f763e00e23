import { Controller, Get, Header } from '@nestjs/common';
import { Registry } from 'prom-client';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ServiceMetrics } from '@app/platform';
import { Roles } from '../access/roles.decorator';
import { SystemGauges } from './system-gauges';

/**
 * Prometheus scrape endpoint of the api: its own process metrics plus the system-wide gauges (queues, outbox,
 * dead letters, tasks, overdue surveillance, email). The worker serves its counters on METRICS_PORT. Scraped with
 * an admin key (Prometheus `authorization: { credentials: <key> }`).
 */
@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: ServiceMetrics,
    private readonly gauges: SystemGauges,
  ) {}

  @Get()
  @Roles('admin')
  @Header('cache-control', 'no-store')
  @Header('content-type', Registry.PROMETHEUS_CONTENT_TYPE)
  @ApiProduces('text/plain')
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format)' })
  async scrape(): Promise<string> {
    await this.gauges.refresh();
    return this.metrics.exposition();
  }
}
