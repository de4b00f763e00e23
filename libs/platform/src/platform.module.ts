import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { loadConfig, type ServiceConfig } from '@app/config';
import { DEFAULT_ROUTING, parseRoutingRules } from '@app/navigation';
import { createPathway, type Pathway } from '@app/pathway';
import {
  CareTaskStore,
  ClinicalEventApplier,
  NotificationStore,
  SurveillanceSweeper,
  createPool,
  DeadLetterStore,
  OutboxStore,
  PathwayReadModels,
  systemClock,
  type Clock,
} from '@app/store';
import { CLOCK, PATHWAY, PG_POOL, SERVICE_CONFIG } from './tokens';
import { checkQueuePrefix, redisConnection } from './redis';

export interface PlatformOptions {
  /** Overrides for tests; production reads the environment only. */
  config?: Partial<ServiceConfig>;
  clock?: Clock;
}

/**
 * Shared wiring for api and worker: validated config, the PostgreSQL pool, the pathway, the clock, the
 * stores, and BullMQ's root connection with the configured prefix.
 */
@Global()
@Module({})
export class PlatformModule implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  static forRoot(options: PlatformOptions = {}): DynamicModule {
    const config = loadConfig(process.env, options.config);
    checkQueuePrefix(config.REDIS_URL, config.QUEUE_PREFIX);
    const providers = [
      { provide: SERVICE_CONFIG, useValue: config },
      { provide: CLOCK, useValue: options.clock ?? systemClock },
      { provide: PATHWAY, useValue: createPathway() },
      { provide: PG_POOL, useFactory: () => createPool(config.DATABASE_URL, config.PG_POOL_SIZE) },
      {
        provide: ClinicalEventApplier,
        useFactory: (pool: Pool, pathway: ReturnType<typeof createPathway>) => new ClinicalEventApplier(pool, pathway),
        inject: [PG_POOL, PATHWAY],
      },
      { provide: DeadLetterStore, useFactory: (pool: Pool) => new DeadLetterStore(pool), inject: [PG_POOL] },
      { provide: OutboxStore, useFactory: (pool: Pool) => new OutboxStore(pool), inject: [PG_POOL] },
      { provide: PathwayReadModels, useFactory: (pool: Pool) => new PathwayReadModels(pool), inject: [PG_POOL] },
      { provide: NotificationStore, useFactory: (pool: Pool) => new NotificationStore(pool), inject: [PG_POOL] },
      {
        provide: CareTaskStore,
        useFactory: (pool: Pool, pathway: Pathway) =>
          new CareTaskStore(
            pool,
            config.ROUTING_RULES ? parseRoutingRules(config.ROUTING_RULES) : DEFAULT_ROUTING,
            pathway.config,
          ),
        inject: [PG_POOL, PATHWAY],
      },
      {
        provide: SurveillanceSweeper,
        useFactory: (pool: Pool, pathway: Pathway, tasks: CareTaskStore, notifications: NotificationStore) =>
          new SurveillanceSweeper(pool, pathway.config, tasks, notifications, {
            emailDigestAfter: config.EMAIL_DIGEST_AFTER,
          }),
        inject: [PG_POOL, PATHWAY, CareTaskStore, NotificationStore],
      },
    ];
    return {
      module: PlatformModule,
      imports: [
        BullModule.forRoot({
          connection: redisConnection(config.REDIS_URL, 'worker'),
          prefix: config.QUEUE_PREFIX,
        }),
      ],
      providers,
      exports: [...providers.map((p) => p.provide), BullModule],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
