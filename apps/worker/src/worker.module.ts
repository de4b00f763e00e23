import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { CLINICAL_EVENTS_QUEUE, NOTIFICATIONS_QUEUE, TIMERS_QUEUE } from '@app/contracts';
import { GracefulShutdown, PlatformModule, ServiceMetrics, type PlatformOptions } from '@app/platform';
import { ClinicalEventIntake } from './clinical-events/clinical-event-intake';
import { ClinicalEventsProcessor } from './clinical-events/clinical-events.processor';
import { MetricsServer } from './metrics/metrics-server';
import { EmailDelivery } from './notifications/email-delivery';
import { NotificationsProcessor } from './notifications/notifications.processor';
import { OutboxRelay } from './outbox-relay/outbox-relay.service';
import { TimersProcessor } from './timers/timers.processor';

@Module({})
export class WorkerModule {
  static forRoot(options: PlatformOptions = {}): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        PlatformModule.forRoot(options),
        BullModule.registerQueue(
          { name: CLINICAL_EVENTS_QUEUE },
          { name: NOTIFICATIONS_QUEUE },
          { name: TIMERS_QUEUE },
        ),
      ],
      providers: [
        ClinicalEventIntake,
        ClinicalEventsProcessor,
        OutboxRelay,
        EmailDelivery,
        NotificationsProcessor,
        TimersProcessor,
        GracefulShutdown,
        { provide: ServiceMetrics, useFactory: () => new ServiceMetrics('worker') },
        MetricsServer,
      ],
      exports: [OutboxRelay, ClinicalEventIntake, TimersProcessor, EmailDelivery, ServiceMetrics, MetricsServer],
    };
  }
}
