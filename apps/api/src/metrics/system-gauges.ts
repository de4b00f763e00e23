import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { Gauge } from 'prom-client';
import { CLINICAL_EVENTS_QUEUE, NOTIFICATIONS_QUEUE, TIMERS_QUEUE } from '@app/contracts';
import type { ServiceConfig } from '@app/config';
import { CLOCK, producerQueue, SERVICE_CONFIG, ServiceMetrics } from '@app/platform';
import { OperationsQueries, type Clock } from '@app/store';

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/**
 * System-wide gauges, read from PostgreSQL and Redis when Prometheus scrapes: reported by the api (one place), not
 * by each worker. A scrape that cannot reach a store leaves that store's gauges at their last values and sets
 * `sarcoma_store_up{store}` to 0.
 */
@Injectable()
export class SystemGauges implements OnApplicationShutdown {
  private readonly handles: ReturnType<typeof producerQueue>[];
  private readonly queues: Queue[];
  private readonly jobs: Gauge<'queue' | 'state'>;
  private readonly outboxRows: Gauge;
  private readonly outboxLag: Gauge;
  private readonly deadLetters: Gauge<'channel'>;
  private readonly openTasks: Gauge<'priority'>;
  private readonly unrouted: Gauge;
  private readonly overdue: Gauge;
  private readonly notifications: Gauge<'status'>;
  private readonly inboundRefused: Gauge;
  private readonly up: Gauge<'store'>;

  constructor(
    metrics: ServiceMetrics,
    private readonly operations: OperationsQueries,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    const registers = [metrics.registry];
    const gauge = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
      new Gauge<L>({ name, help, labelNames, registers });
    this.jobs = gauge('sarcoma_queue_jobs', 'Jobs in each BullMQ queue by state', ['queue', 'state']);
    this.outboxRows = gauge('sarcoma_outbox_rows', 'Outbox rows not yet relayed to BullMQ');
    this.outboxLag = gauge('sarcoma_outbox_lag_seconds', 'Age of the oldest outbox row not yet relayed');
    this.deadLetters = gauge('sarcoma_dead_letters_open', 'Dead letters not yet replayed, by channel', ['channel']);
    this.openTasks = gauge('sarcoma_open_tasks', 'Open navigator tasks by priority', ['priority']);
    this.unrouted = gauge(
      'sarcoma_unrouted_tasks',
      'Open tasks nobody has been routed (no active member in their teams)',
    );
    this.overdue = gauge('sarcoma_surveillance_items_overdue', 'Planned surveillance items past their window');
    this.notifications = gauge('sarcoma_notifications', 'Emails pending or failed (permanently)', ['status']);
    this.inboundRefused = gauge('sarcoma_inbound_messages_refused', 'HL7 v2 / FHIR messages answered AE or AR');
    this.up = gauge('sarcoma_store_up', '1 when the last scrape could read the store', ['store']);
    this.handles = [CLINICAL_EVENTS_QUEUE, NOTIFICATIONS_QUEUE, TIMERS_QUEUE].map((name) =>
      producerQueue(name, config.REDIS_URL, config.QUEUE_PREFIX),
    );
    this.queues = this.handles.map((h) => h.queue);
    for (const queue of this.queues) queue.on('error', () => undefined); // reported as sarcoma_store_up{store="redis"}
  }

  async refresh(): Promise<void> {
    await Promise.all([this.refreshQueues(), this.refreshDatabase()]);
  }

  private async refreshQueues(): Promise<void> {
    try {
      for (const queue of this.queues) {
        const counts = await queue.getJobCounts(...QUEUE_STATES);
        for (const state of QUEUE_STATES) this.jobs.set({ queue: queue.name, state }, counts[state] ?? 0);
      }
      this.up.set({ store: 'redis' }, 1);
    } catch {
      this.up.set({ store: 'redis' }, 0);
    }
  }

  private async refreshDatabase(): Promise<void> {
    try {
      const s = await this.operations.snapshot(this.clock.now());
      this.outboxRows.set(s.outboxRows);
      this.outboxLag.set(s.outboxLagSeconds);
      this.deadLetters.reset();
      for (const d of s.deadLettersOpen) this.deadLetters.set({ channel: d.channel }, d.count);
      this.openTasks.reset();
      for (const t of s.openTasks) this.openTasks.set({ priority: t.priority }, t.count);
      this.unrouted.set(s.unroutedTasks);
      this.overdue.set(s.overdueSurveillanceItems);
      this.notifications.reset();
      for (const n of s.notifications) this.notifications.set({ status: n.status }, n.count);
      this.inboundRefused.set(s.inboundRefused);
      this.up.set({ store: 'postgres' }, 1);
    } catch {
      this.up.set({ store: 'postgres' }, 0);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.close()));
  }
}
