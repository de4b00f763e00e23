import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ServiceConfig } from '@app/config';
import {
  classifySendError,
  createMailer,
  DIGEST_KIND,
  renderDigestEmail,
  renderTaskEmail,
  SMTP_CONNECTIONS,
  type Mailer,
  type TaskEmailPriority,
} from '@app/notify';
import { isOpen } from '@app/navigation';
import { CLOCK, SERVICE_CONFIG, ServiceMetrics } from '@app/platform';
import {
  CLAIM_SECONDS,
  DeadLetterStore,
  isConnectionLost,
  NotificationStore,
  type Clock,
  type PendingNotification,
} from '@app/store';

/** Which pending emails to send; the others are recorded `skipped` with `why` (a backfill's, by BACKFILL_EMAILS). */
export interface EmailFilter {
  send(notification: PendingNotification): boolean;
  why: string;
}

/** Thrown when some emails could not be sent for now: the job retries them with backoff (the sent ones stay sent). */
export class TransientDeliveryError extends Error {}

/**
 * Sends notification rows by email, each at most once per id: only `pending` rows are sent, each send is claimed
 * first (two deliveries of the same row never both send it) and marked `sent` right after SMTP accepted it (a group
 * of up to SMTP_CONNECTIONS at a time). A crash between the two is the one window for a second send, and the Message-ID (derived from the notification id) lets a
 * receiving system drop it. Permanent failures (5xx, bad address) are marked `failed` and dead-lettered for leads;
 * transient ones throw so the job retries with backoff.
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

  async deliver(ids: string[], filter?: EmailFilter): Promise<{ sent: number; failed: number }> {
    let pending = await this.notifications.pending(ids);
    if (filter) {
      // the unwanted ones in one statement (a backfill can leave thousands), unless another delivery is sending one
      const unwanted = pending.filter((n) => !filter.send(n)).map((n) => n.id);
      await this.notifications.skipUnclaimed(unwanted, filter.why);
      pending = pending.filter((n) => filter.send(n));
    }
    let sent = 0;
    let failed = 0;
    let transient: string | null = null;
    const sendOne = async (notification: PendingNotification, claim: 'claimed' | 'busy' | 'done'): Promise<boolean> => {
      // Another delivery (a retried job, another worker, the sweeper's re-send) may have the same row: one sends it.
      // Busy: this job tries again later, when it is sent, or when the claim of a process that died has expired.
      if (claim === 'done') return false;
      if (claim === 'busy') {
        transient = `email ${notification.id} is being sent by another delivery`;
        return false;
      }
      // a closed task needs nobody's attention: an email still pending about it (or a digest of only such) is not sent
      const closed =
        notification.kind === DIGEST_KIND
          ? notification.digest.open === 0 && 'every task of the digest closed before the email went out'
          : !isOpen(notification.task.status) && `task ${notification.task.status} before the email went out`;
      if (closed) {
        await this.notifications.markSkipped(notification.id, closed);
        return false;
      }

      try {
        await this.mailer.send({
          notificationId: notification.id,
          to: notification.email,
          ...this.render(notification),
        });
      } catch (err) {
        const message = (err as Error).message;
        if (classifySendError(err) === 'transient') {
          transient = message;
          this.metrics.emails.inc({ result: 'retried' });
          await this.notifications.recordAttemptFailed(notification.id, message);
          return false;
        }
        failed += 1;
        this.metrics.emails.inc({ result: 'failed' });
        await this.notifications.markFailed(notification.id, message);
        await this.deadLetters.record(
          'email',
          {
            notificationId: notification.id,
            kind: notification.kind,
            ...(notification.kind === DIGEST_KIND
              ? { tasks: notification.digest.assigned }
              : { taskId: notification.task.id }),
          },
          [{ field: 'email', reason: `permanent SMTP failure: ${message}` }],
          `email.${notification.id}`,
        );
        // the notification id and task id only: no address, no patient data
        this.logger.warn(`email ${notification.id} failed permanently and was dead-lettered`);
        return false;
      }
      this.metrics.emails.inc({ result: 'sent' });
      return true;
    };
    // a few at a time, one per pooled SMTP connection; claimed together and recorded sent together (two statements
    // for the group instead of two per email: at backfill scale these commits were the delivery's limit)
    for (let i = 0; i < pending.length; i += SMTP_CONNECTIONS) {
      const group = pending.slice(i, i + SMTP_CONNECTIONS);
      const claimedAt = Date.now();
      const claims = await this.notifications.claim(group.map((n) => n.id));
      // settled, not all: one email's bookkeeping failing (a lost connection) must not keep the others SMTP accepted
      // from being recorded sent (they would go again once their claim expired)
      const outcomes = await Promise.allSettled(group.map((n) => sendOne(n, claims.get(n.id) ?? 'done')));
      // SMTP accepted these: recording that must not fail on a lost database connection (that is not a failed send,
      // and a retry of the job would send them again)
      sent += await this.recordSent(
        group.filter((_, k) => outcomes[k].status === 'fulfilled' && outcomes[k].value).map((n) => n.id),
        claimedAt,
      );
      const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failure) throw failure.reason;
    }
    if (transient !== null) throw new TransientDeliveryError(`some emails must be retried: ${transient}`);
    return { sent, failed };
  }

  /**
   * markSent, retried a moment apart. A lost connection (a PostgreSQL restart, a failover) is retried for as long as
   * this delivery's claim holds (CLAIM_SECONDS from `claimedAt`, less a margin): meanwhile no other delivery sends
   * these emails, and giving up sooner only lets the job's retry send them again once the claim has expired (a
   * restart of a few seconds did: 14 emails twice). Other errors: 5 attempts.
   */
  private async recordSent(ids: string[], claimedAt: number): Promise<number> {
    if (ids.length === 0) return 0;
    const until = claimedAt + (CLAIM_SECONDS - 5) * 1000;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.notifications.markSent(ids, this.clock.now());
      } catch (err) {
        if (attempt >= 5 && !(isConnectionLost(err) && Date.now() < until)) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.min(200 * attempt, 1000)));
      }
    }
  }

  private render(notification: PendingNotification) {
    if (notification.kind === DIGEST_KIND) {
      const { digest } = notification;
      return renderDigestEmail({
        ...digest,
        tasks: digest.tasks.map((t) => ({ ...t, taskId: t.id, priority: t.priority as TaskEmailPriority })),
        baseUrl: this.config.PUBLIC_BASE_URL,
      });
    }
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
