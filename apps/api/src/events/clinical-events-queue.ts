import { getQueueToken } from '@nestjs/bullmq';
import { Inject, Injectable, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { CLINICAL_EVENTS_QUEUE } from '@app/contracts';
import type { ServiceConfig } from '@app/config';
import { producerQueue, SERVICE_CONFIG } from '@app/platform';

const HANDLE = Symbol('clinical-events producer');

/**
 * The api only produces onto the clinical-events queue, and fails fast when Redis is down instead of buffering
 * accepted events in memory (a producer connection). Provided under BullMQ's queue token (so `@InjectQueue` works)
 * rather than through `BullModule.registerQueue`, whose shutdown hangs while Redis is down.
 */
export const clinicalEventsQueueProviders: Provider[] = [
  {
    provide: HANDLE,
    useFactory: (config: ServiceConfig) => producerQueue(CLINICAL_EVENTS_QUEUE, config.REDIS_URL, config.QUEUE_PREFIX),
    inject: [SERVICE_CONFIG],
  },
  {
    provide: getQueueToken(CLINICAL_EVENTS_QUEUE),
    useFactory: (handle: ReturnType<typeof producerQueue>) => handle.queue,
    inject: [HANDLE],
  },
];

@Injectable()
export class ClinicalEventsQueueShutdown implements OnApplicationShutdown {
  constructor(@Inject(HANDLE) private readonly handle: ReturnType<typeof producerQueue>) {}

  async onApplicationShutdown(): Promise<void> {
    await this.handle.close();
  }
}
