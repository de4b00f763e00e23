import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { NOTIFICATIONS_QUEUE } from '@app/contracts';
import { DIGEST_KIND } from '@app/notify';
import type { ServiceConfig } from '@app/config';
import { CLOCK, SERVICE_CONFIG } from '@app/platform';
import { CareTaskStore, NotificationStore, type Clock } from '@app/store';
import { EmailDelivery, type EmailFilter } from './email-delivery';
import { MAX_STALLED_COUNT } from '../job-stalls';

interface TasksCreated {
  tasks: { taskId: string }[];
  correlationId?: string;
  /** From a backfill batch: BACKFILL_EMAILS applies. */
  backfill?: boolean;
}
interface Deliver {
  notificationIds: string[];
}
interface Alert {
  audience: 'care-navigator' | 'care-team';
  template: string;
  taskIds: string[];
  backfill?: boolean;
}

/**
 * The notifications queue (jobs from the outbox): `tasks-created` routes the new tasks and emails their assignees;
 * `deliver` sends notification rows written elsewhere (reassignments, escalations, the sweeper); a pathway notify
 * template (`local-recurrence`, `distant-metastasis`) alerts the care team. Every step re-reads PostgreSQL and is
 * idempotent, so a retried or duplicated job tells nobody twice.
 */
@Processor(NOTIFICATIONS_QUEUE, { concurrency: 4, maxStalledCount: MAX_STALLED_COUNT })
export class NotificationsProcessor extends WorkerHost {
  private readonly logger = new Logger('NotificationsWorker');

  constructor(
    private readonly tasks: CareTaskStore,
    private readonly notifications: NotificationStore,
    private readonly delivery: EmailDelivery,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
  ) {
    super();
  }

  /** Which of a backfill's emails go out (BACKFILL_EMAILS); the others are recorded `skipped` with the reason. */
  private backfillFilter(data: { backfill?: boolean }): EmailFilter | undefined {
    const policy = this.config.BACKFILL_EMAILS;
    if (!data.backfill || policy === 'all') return undefined;
    return {
      send: (n) => policy === 'urgent' && n.kind !== DIGEST_KIND && n.task.priority === 'urgent',
      why: `from a backfill: on the worklist, not emailed (BACKFILL_EMAILS=${policy})`,
    };
  }

  async process(job: Job): Promise<{ sent: number; failed: number }> {
    if (job.name === 'deliver') return this.delivery.deliver((job.data as Deliver).notificationIds);
    if (job.name === 'tasks-created') {
      const taskIds = (job.data as TasksCreated).tasks.map((t) => t.taskId);
      const written = await this.tasks.route(taskIds, this.clock.now());
      // a retry, or a job taken over from a worker that died, also sends what the earlier attempt wrote (one more
      // query, only then); the sweeper re-sends anything older that is still pending
      const again = job.attemptsMade > 0 || job.stalledCounter > 0;
      const pending = again ? await this.notifications.pendingIdsForTasks(taskIds) : written;
      const result = await this.delivery.deliver(pending, this.backfillFilter(job.data as TasksCreated));
      // the correlation id follows the event to its tasks and their emails
      this.logger.debug({
        msg: 'tasks routed',
        correlationId: (job.data as TasksCreated).correlationId,
        taskIds,
        ...result,
      });
      return result;
    }
    const alert = job.data as Alert;
    // the alert names the navigators who have the tasks: route them first (a no-op if tasks-created did)
    const routed = await this.tasks.route(alert.taskIds, this.clock.now());
    const ids = await this.tasks.alert(
      job.id ?? job.name,
      alert.taskIds,
      alert.audience,
      alert.template,
      this.clock.now(),
    );
    // a retry also sends what an earlier attempt routed (routing again finds nothing to do, so `routed` is empty)
    const again = job.attemptsMade > 0 || job.stalledCounter > 0;
    const earlier = again ? await this.notifications.pendingIdsForTasks(alert.taskIds) : [];
    return this.delivery.deliver([...new Set([...routed, ...ids, ...earlier])], this.backfillFilter(alert));
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, error: Error): void {
    this.logger.warn(`notification job ${job?.id ?? '?'} attempt ${job?.attemptsMade ?? '?'} failed: ${error.message}`);
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.logger.error(`worker error: ${error.message}`);
  }
}
