import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import { TIMERS_QUEUE } from '@app/contracts';
import type { ServiceConfig } from '@app/config';
import { CLOCK, SERVICE_CONFIG, ServiceMetrics } from '@app/platform';
import { CareTaskStore, SurveillanceSweeper, type Clock, type SweepReport } from '@app/store';
import { EmailDelivery } from '../notifications/email-delivery';
import { MAX_STALLED_COUNT } from '../job-stalls';

export const SWEEP_JOB = 'surveillance-sweep';

/**
 * The timers queue. `task-escalation` is the delayed job the outbox wrote for each SLA step of an urgent task
 * (R-LR-ESCALATE step 5): it re-reads the task and escalates only if the step is still due. `surveillance-sweep`
 * is a BullMQ job scheduler (every SWEEP_EVERY_MS) that re-derives everything due from PostgreSQL, so timers
 * lost with Redis are found again (DESIGN invariant 6).
 */
@Processor(TIMERS_QUEUE, { concurrency: 2, maxStalledCount: MAX_STALLED_COUNT })
export class TimersProcessor extends WorkerHost implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('TimersWorker');
  private watch: NodeJS.Timeout | null = null;

  constructor(
    private readonly tasks: CareTaskStore,
    private readonly sweeper: SurveillanceSweeper,
    private readonly delivery: EmailDelivery,
    @InjectQueue(TIMERS_QUEUE) private readonly timers: Queue,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: ServiceMetrics,
  ) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.declareSweep();
    // The scheduler lives in Redis: a Redis that lost its data (no persistence, a failover to an empty replica,
    // FLUSHALL) lost it too, and with it the sweeper that re-derives everything else. Checked, and declared again.
    this.watch = setInterval(() => void this.keepSweepScheduled(), Math.min(this.config.SWEEP_EVERY_MS, 60_000));
    this.watch.unref();
  }

  onApplicationShutdown(): void {
    if (this.watch) clearInterval(this.watch);
  }

  /** Upsert: every worker declares the same scheduler; Redis keeps one. */
  private async declareSweep(): Promise<void> {
    await this.timers.upsertJobScheduler(
      SWEEP_JOB,
      { every: this.config.SWEEP_EVERY_MS },
      { name: SWEEP_JOB, opts: { removeOnComplete: { count: 50 }, removeOnFail: { count: 50 } } },
    );
  }

  private async keepSweepScheduled(): Promise<void> {
    try {
      if (await this.timers.getJobScheduler(SWEEP_JOB)) return;
      await this.declareSweep();
      this.logger.warn('the sweep scheduler was gone from Redis (Redis lost its data?): declared again');
    } catch (err) {
      this.logger.warn(`could not check the sweep scheduler: ${(err as Error).message}`); // Redis away: next time
    }
  }

  async process(job: Job): Promise<unknown> {
    if (job.name === SWEEP_JOB) return this.sweep();
    if (job.name === 'task-escalation') {
      const { notificationIds, steps } = await this.tasks.escalate(
        (job.data as { taskId: string }).taskId,
        this.clock.now(),
      );
      this.metrics.escalations.inc({ via: 'timer' }, steps);
      await this.delivery.deliver(notificationIds);
      return { steps };
    }
    this.logger.warn(`unknown timer job ${job.name}: ignored`);
    return null;
  }

  /** One sweep now (also what the demo and tests call after moving the clock). */
  async sweep(): Promise<SweepReport> {
    const report = await this.sweeper.sweep(this.clock.now());
    this.metrics.escalations.inc({ via: 'sweep' }, report.escalations);
    for (const [kind, n] of Object.entries(report))
      if (kind !== 'unroutable' && n > 0) this.metrics.sweeps.inc({ kind }, n);
    const { unroutable, ...work } = report;
    const changed = Object.entries(work).filter(([, n]) => n > 0);
    if (changed.length > 0) this.logger.log(`sweep: ${changed.map(([k, n]) => `${k}=${n}`).join(' ')}`);
    if (unroutable > 0)
      this.logger.warn(
        `${unroutable} open tasks have nobody to route to (no active member in their teams): add members; GET /tasks lists them`,
      );
    return report;
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, error: Error): void {
    this.logger.warn(`timer job ${job?.name ?? '?'} failed: ${error.message}`);
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.logger.error(`worker error: ${error.message}`);
  }
}
