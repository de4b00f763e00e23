import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import type { Pool } from 'pg';
import { GracefulShutdown, PG_POOL, PlatformModule, ServiceMetrics, type PlatformOptions } from '@app/platform';
import { ApiKeyStore, CareTeamStore, FhirTaskQueries, InboundMessageStore, OperationsQueries } from '@app/store';
import { ApiKeyCache, ApiKeyGuard } from './access/api-key.guard';
import { DeadLettersController } from './dead-letters/dead-letters.controller';
import { ClinicalEventPublisher } from './events/clinical-event-publisher';
import { ClinicalEventsQueueShutdown, clinicalEventsQueueProviders } from './events/clinical-events-queue';
import { EventsController } from './events/events.controller';
import { FhirTasksController } from './fhir/fhir-tasks.controller';
import { HealthController } from './health/health.controller';
import { HEALTH_INDICATORS } from './health/health-indicators';
import { FhirIntakeController } from './interop/fhir-intake.controller';
import { Hl7Intake } from './interop/hl7-intake';
import { IntakeEvents } from './interop/intake-events';
import { Hl7Controller } from './interop/hl7.controller';
import { MllpListener } from './interop/mllp-listener';
import { MetricsController } from './metrics/metrics.controller';
import { SystemGauges } from './metrics/system-gauges';
import { PatientsController } from './patients/patients.controller';
import { QueuesDashboard } from './queues-dashboard/queues-dashboard';
import { RulesController } from './tasks/rules.controller';
import { TasksController } from './tasks/tasks.controller';
import { WorklistSummaryController } from './tasks/worklist-summary.controller';
import { KeysController } from './teams/keys.controller';
import { MyTeamController } from './teams/my-team.controller';
import { TeamsController } from './teams/teams.controller';
import { WebModule } from './web/web.module';

@Module({})
export class ApiModule {
  static forRoot(options: PlatformOptions = {}): DynamicModule {
    return {
      module: ApiModule,
      imports: [PlatformModule.forRoot(options), TerminusModule.forRoot(), WebModule],
      controllers: [
        EventsController,
        PatientsController,
        TasksController,
        DeadLettersController,
        HealthController,
        Hl7Controller,
        FhirIntakeController,
        MetricsController,
        FhirTasksController,
        TeamsController,
        KeysController,
        WorklistSummaryController,
        RulesController,
        MyTeamController,
      ],
      providers: [
        ...clinicalEventsQueueProviders,
        ClinicalEventsQueueShutdown,
        ClinicalEventPublisher,
        GracefulShutdown,
        ...HEALTH_INDICATORS,
        { provide: CareTeamStore, useFactory: (pool: Pool) => new CareTeamStore(pool), inject: [PG_POOL] },
        { provide: ApiKeyStore, useFactory: (pool: Pool) => new ApiKeyStore(pool), inject: [PG_POOL] },
        { provide: InboundMessageStore, useFactory: (pool: Pool) => new InboundMessageStore(pool), inject: [PG_POOL] },
        { provide: FhirTaskQueries, useFactory: (pool: Pool) => new FhirTaskQueries(pool), inject: [PG_POOL] },
        Hl7Intake,
        IntakeEvents,
        MllpListener,
        { provide: ServiceMetrics, useFactory: () => new ServiceMetrics('api') },
        { provide: OperationsQueries, useFactory: (pool: Pool) => new OperationsQueries(pool), inject: [PG_POOL] },
        SystemGauges,
        ApiKeyCache,
        QueuesDashboard,
        // Every route of the api, present and future: an API key with an allowed role, or @Public().
        { provide: APP_GUARD, useClass: ApiKeyGuard },
      ],
    };
  }
}
