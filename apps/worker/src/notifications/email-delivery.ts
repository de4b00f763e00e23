import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ServiceConfig } from '@app/config';
import { classifySendError, createMailer, renderTaskEmail, type Mailer, type TaskEmailPriority } from '@app/notify';
import { CLOCK, SERVICE_CONFIG, ServiceMetrics } from '@app/platform';
import { DeadLetterStore, NotificationStore, type Clock, type PendingNotification } from '@app/store';

/** A task in one of these states needs nobody's attention: an email still pending about it is not sent. */
const CLOSED = new Set(['completed', 'cancelled', 'rejected']);

/** Thrown when some emails could not be sent for now: the job retries them with backoff (the sent ones stay sent). */
export class TransientDeliveryError extends Error {}

/**
 * Sends notification rows by email, each at most once per id: only `pending` rows are sent and each is marked
 * `sent` right after SMTP accepted it. A crash between the two is the one window for a second send, and the
 * Message-ID (derived from the notification id) lets a receiving system drop it. Permanent failures (5xx, bad
 * address) are marked `failed` and dead-lettered for leads; transient ones throw so the job retries with backoff.
 */
@Injectable()
export class EmailDelivery implements OnApplicationShutdown {
  private readonly logger = new Logger('EmailDelivery');
  readonly mailer: Mailer;

  constructor(
    private readonly notifications: NotificationStore,
    private readonly deadLetters: DeadLetterStore,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: ServiceMetrics,
  ) {
    this.mailer = createMailer({ smtpUrl: config.SMTP_URL, outboxDir: config.MAIL_OUTBOX_DIR, from: config.MAIL_FROM });
  }

  async deliver(ids: string[]): Promise<{ sent: number; failed: number }> {
    const pending = await this.notifications.pending(ids);
    let sent = 0;
    let failed = 0;
    let transient: string | null = null;
    for (const notification of pending) {
      if (CLOSED.has(notification.task.status)) {
        await this.notifications.markSkipped(
          notification.id,
          `task ${notification.task.status} before the email went out`,
        );
        continue;
      }
      try {
        await this.mailer.send({
          notificationId: notification.id,
          to: notification.email,
          ...this.render(notification),
        });
        if (await this.notifications.markSent(notification.id, this.clock.now())) sent += 1;
        this.metrics.emails.inc({ result: 'sent' });
      } catch (err) {
        const message = (err as Error).message;
        if (classifySendError(err) === 'transient') {
          transient = message;
          this.metrics.emails.inc({ result: 'retried' });
          await this.notifications.recordAttemptFailed(notification.id, message);
          continue;
        }
        failed += 1;
        this.metrics.emails.inc({ result: 'failed' });
        await this.notifications.markFailed(notification.id, message);
        await this.deadLetters.record(
          'email',
          { notificationId: notification.id, kind: notification.kind, taskId: notification.task.id },
          [{ field: 'email', reason: `permanent SMTP failure: ${message}` }],
          `email.${notification.id}`,
        );
        // the notification id and task id only: no address, no patient data
        this.logger.warn(`email ${notification.id} failed permanently and was dead-lettered`);
      }
    }
    if (transient !== null) throw new TransientDeliveryError(`some emails must be retried: ${transient}`);
    return { sent, failed };
  }

  private render(notification: PendingNotification) {
    const detail = notification.detail;
    return renderTaskEmail({
      kind: notification.kind,
      task: {
        ...notification.task,
        taskId: notification.task.id,
        priority: notification.task.priority as TaskEmailPriority,
      },
      baseUrl: this.config.PUBLIC_BASE_URL,
      ...(typeof detail.level === 'string'
        ? { escalationLevel: detail.level as 'navigator-lead' | 'clinical-lead' }
        : {}),
      ...(typeof detail.afterHours === 'number' ? { hoursUnaccepted: detail.afterHours } : {}),
      ...(typeof detail.template === 'string' ? { template: detail.template } : {}),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.mailer.close();
  }
}
