import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import { TIMERS_QUEUE } from '@app/contracts';
import type { ServiceConfig } from '@app/config';
import { CLOCK, SERVICE_CONFIG, ServiceMetrics } from '@app/platform';
import { CareTaskStore, SurveillanceSweeper, type Clock, type SweepReport } from '@app/store';
import { EmailDelivery } from '../notifications/email-delivery';

export const SWEEP_JOB = 'surveillance-sweep';

/**
 * The timers queue. `task-escalation` is the delayed job the outbox wrote for each SLA step of an urgent task
 * (R-LR-ESCALATE step 5): it re-reads the task and escalates only if the step is still due. `surveillance-sweep`
 * is a BullMQ job scheduler (every SWEEP_EVERY_MS) that re-derives everything due from PostgreSQL, so timers
 * lost with Redis are found again (DESIGN invariant 6).
 */
@Processor(TIMERS_QUEUE, { concurrency: 2 })
export class TimersProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger('TimersWorker');

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
    // Upsert: every worker declares the same scheduler; Redis keeps one.
    await this.timers.upsertJobScheduler(
      SWEEP_JOB,
      { every: this.config.SWEEP_EVERY_MS },
      { name: SWEEP_JOB, opts: { removeOnComplete: { count: 50 }, removeOnFail: { count: 50 } } },
    );
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
