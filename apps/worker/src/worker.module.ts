import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module, type Provider } from '@nestjs/common';
import { loadConfig, workerRoles } from '@app/config';
import {
  CLINICAL_EVENTS_BACKFILL_QUEUE,
  CLINICAL_EVENTS_QUEUE,
  NOTIFICATIONS_QUEUE,
  TIMERS_QUEUE,
} from '@app/contracts';
import type { Pathway } from '@app/pathway';
import { ClinicalEventApplier, ClinicalEventBatchApplier } from '@app/store';
import type { Pool } from 'pg';
import {
  GracefulShutdown,
  PATHWAY,
  PG_POOL,
  PlatformModule,
  ServiceMetrics,
  type PlatformOptions,
} from '@app/platform';
import { BackfillProcessor } from './clinical-events/backfill.processor';
import { ClinicalEventIntake } from './clinical-events/clinical-event-intake';
import { ClinicalEventsProcessor } from './clinical-events/clinical-events.processor';
import { PatientOrder } from './clinical-events/patient-order';
import { MetricsServer } from './metrics/metrics-server';
import { EmailDelivery } from './notifications/email-delivery';
import { NotificationsProcessor } from './notifications/notifications.processor';
import { OutboxRelay } from './outbox-relay/outbox-relay.service';
import { TimersProcessor } from './timers/timers.processor';

@Module({})
export class WorkerModule {
  static forRoot(options: PlatformOptions = {}): DynamicModule {
    const roles = workerRoles(loadConfig(process.env, options.config));
    const events: Provider[] = [
      PatientOrder,
      {
        provide: ClinicalEventBatchApplier,
        useFactory: (pool: Pool, pathway: Pathway, single: ClinicalEventApplier) =>
          new ClinicalEventBatchApplier(pool, pathway, single),
        inject: [PG_POOL, PATHWAY, ClinicalEventApplier],
      },
      ClinicalEventIntake,
      ClinicalEventsProcessor,
      BackfillProcessor,
    ];
    const providers: Provider[] = [
      // every role writes outbox rows (events: tasks and timers; notifications and timers: email), so each relays
      OutboxRelay,
      EmailDelivery,
      GracefulShutdown,
      { provide: ServiceMetrics, useFactory: () => new ServiceMetrics('worker') },
      MetricsServer,
      ...(roles.has('events') ? events : []),
      ...(roles.has('notifications') ? [NotificationsProcessor] : []),
      ...(roles.has('timers') ? [TimersProcessor] : []),
    ];
    return {
      module: WorkerModule,
      imports: [
        PlatformModule.forRoot(options),
        BullModule.registerQueue(
          { name: CLINICAL_EVENTS_QUEUE },
          { name: CLINICAL_EVENTS_BACKFILL_QUEUE },
          { name: NOTIFICATIONS_QUEUE },
          { name: TIMERS_QUEUE },
        ),
      ],
      providers,
      exports: [
        OutboxRelay,
        EmailDelivery,
        ServiceMetrics,
        MetricsServer,
        ...(roles.has('events') ? [ClinicalEventIntake] : []),
        ...(roles.has('timers') ? [TimersProcessor] : []),
      ],
    };
  }
}
