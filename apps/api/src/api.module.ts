import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { CLINICAL_EVENTS_QUEUE } from '@app/contracts';
import { loadConfig } from '@app/config';
import { GracefulShutdown, PlatformModule, redisConnection, type PlatformOptions } from '@app/platform';
import { DeadLettersController } from './dead-letters/dead-letters.controller';
import { ClinicalEventPublisher } from './events/clinical-event-publisher';
import { EventsController } from './events/events.controller';
import { HealthController } from './health/health.controller';
import { PatientsController } from './patients/patients.controller';
import { TasksController } from './tasks/tasks.controller';

@Module({})
export class ApiModule {
  static forRoot(options: PlatformOptions = {}): DynamicModule {
    const config = loadConfig(process.env, options.config);
    return {
      module: ApiModule,
      imports: [
        PlatformModule.forRoot(options),
        // The api only produces: fail fast when Redis is down instead of buffering accepted events in memory.
        BullModule.registerQueue({
          name: CLINICAL_EVENTS_QUEUE,
          connection: redisConnection(config.REDIS_URL, 'producer'),
        }),
      ],
      controllers: [EventsController, PatientsController, TasksController, DeadLettersController, HealthController],
      providers: [ClinicalEventPublisher, GracefulShutdown],
    };
  }
}
