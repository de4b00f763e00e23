import type { Pool, PoolClient } from 'pg';
import { NOTIFICATIONS_QUEUE } from '@app/contracts';
import type { TaskStatus } from '@app/navigation';
import type { OutboxJob } from './apply-clinical-event';
export type { NotificationKind };
import { inTransaction } from './database';

import type { NotificationKind } from '@app/notify';

/** An email to write: to a team member, about a task. `detail` holds codes only (template, level), never patient data. */
export interface NewNotification {
  id: string;
  kind: NotificationKind;
  taskId: string;
  memberId: string;
  email: string;
  detail?: Record<string, unknown>;
}

/** What the email delivery needs to render and send one notification. */
export interface PendingNotification {
  id: string;
  kind: NotificationKind;
  email: string;
  detail: Record<string, unknown>;
  attempts: number;
  task: { id: string; type: string; priority: string; status: TaskStatus; dueAt: string; ruleId: string };
}

type Queryable = Pool | PoolClient;

/** How long a delivery holds a notification it is sending: longer than a send can take (SMTP timeouts are 10 s). */
export const CLAIM_SECONDS = 60;

/** Writes notification rows (inside the caller's transaction); an id written before is left as it is. */
export async function insertNotifications(db: Queryable, rows: NewNotification[], now: Date): Promise<string[]> {
  if (rows.length === 0) return [];
  const payload = rows.map((r) => ({ ...r, detail: r.detail ?? {} }));
  await db.query(
    `INSERT INTO notifications (id, kind, task_id, member_id, email, detail, created_at)
     SELECT n.id, n.kind, n."taskId", n."memberId", n.email, n.detail, $2
       FROM jsonb_to_recordset($1) AS n(id text, kind text, "taskId" uuid, "memberId" uuid, email text, detail jsonb)
     ON CONFLICT (id) DO NOTHING`,
    [JSON.stringify(payload), now.toISOString()],
  );
  return rows.map((r) => r.id);
}

/**
 * An outbox row asking the worker to deliver these notifications, in the same transaction that wrote them: the
 * api (reassignments) and the sweeper (escalations, surveillance tasks) hand email to the worker this way.
 */
export async function enqueueDelivery(db: Queryable, notificationIds: string[], origin: string, now: Date) {
  if (notificationIds.length === 0) return;
  const job: OutboxJob = {
    queue: NOTIFICATIONS_QUEUE,
    name: 'deliver',
    // unique per request: a finished job with the same id would make BullMQ ignore a resend; the rows make it idempotent
    jobId: `deliver.${origin}.${now.getTime()}.${notificationIds[0]}`.replace(/:/g, '-'),
    data: { notificationIds },
    deliverAt: null,
  };
  await db.query('INSERT INTO outbox (event_id, jobs, created_at) VALUES ($1, $2, $3)', [
    origin,
    JSON.stringify([job]),
    now.toISOString(),
  ]);
}

/** Email rows: what is still to send, and the outcome of each attempt. */
export class NotificationStore {
  constructor(private readonly pool: Pool) {}

  /** The given notifications that are still pending, with the task facts their message carries. */
  async pending(ids: string[]): Promise<PendingNotification[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<PendingNotification>(
      `SELECT n.id, n.kind, n.email, n.detail, n.attempts,
              json_build_object('id', t.id, 'type', t.type, 'priority', t.priority, 'status', t.status,
                                'dueAt', t.due_at, 'ruleId', t.rule_id) AS task
         FROM notifications n JOIN tasks t ON t.id = n.task_id
        WHERE n.id = ANY($1) AND n.status = 'pending'
        ORDER BY n.created_at, n.id`,
      [ids],
    );
    return rows.map((r) => ({ ...r, task: { ...r.task, dueAt: new Date(r.task.dueAt).toISOString() } }));
  }

  /** Pending notifications of these tasks (a retried job finds what it wrote before it crashed). */
  async pendingIdsForTasks(taskIds: string[]): Promise<string[]> {
    if (taskIds.length === 0) return [];
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM notifications WHERE task_id = ANY($1) AND status = 'pending' ORDER BY created_at, id`,
      [taskIds],
    );
    return rows.map((r) => r.id);
  }

  /** For the sweeper: notifications pending since before `before` (their delivery job was lost or failed). */
  async stalePendingIds(before: Date, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM notifications WHERE status = 'pending' AND created_at < $1 ORDER BY created_at, id LIMIT $2`,
      [before.toISOString(), limit],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Claims pending notifications for one send attempt each (CLAIM_SECONDS, in the database's time), in one statement:
   * `claimed`, or `busy` when another delivery holds it (a retried job, another worker, the sweeper's re-send: it is
   * being sent), or `done` when it is not pending any more. Two deliveries that read the same pending row never both
   * send it.
   */
  async claim(ids: string[]): Promise<Map<string, 'claimed' | 'busy' | 'done'>> {
    const result = new Map<string, 'claimed' | 'busy' | 'done'>();
    if (ids.length === 0) return result;
    const { rows: claimed } = await this.pool.query<{ id: string }>(
      `UPDATE notifications SET claimed_until = now() + make_interval(secs => $2), attempts = attempts + 1
        WHERE id = ANY($1) AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < now())
        RETURNING id`,
      [ids, CLAIM_SECONDS],
    );
    for (const { id } of claimed) result.set(id, 'claimed');
    const others = ids.filter((id) => !result.has(id));
    if (others.length > 0) {
      const { rows } = await this.pool.query<{ id: string; status: string }>(
        'SELECT id, status FROM notifications WHERE id = ANY($1)',
        [others],
      );
      const status = new Map(rows.map((r) => [r.id, r.status]));
      for (const id of others) result.set(id, status.get(id) === 'pending' ? 'busy' : 'done');
    }
    return result;
  }

  /** Marks these sent (after their claimed attempts), in one statement; how many were still pending. */
  async markSent(ids: string[], now: Date): Promise<number> {
    if (ids.length === 0) return 0;
    const { rowCount } = await this.pool.query(
      `UPDATE notifications SET status = 'sent', sent_at = $2, last_error = NULL, claimed_until = NULL
        WHERE id = ANY($1) AND status = 'pending'`,
      [ids, now.toISOString()],
    );
    return rowCount ?? 0;
  }

  /** The claimed attempt failed for now: released, for the job's retry. */
  async recordAttemptFailed(id: string, error: string): Promise<void> {
    await this.pool.query(
      `UPDATE notifications SET last_error = $2, claimed_until = NULL WHERE id = $1 AND status = 'pending'`,
      [id, error.slice(0, 500)],
    );
  }

  /**
   * Not sent because the task closed first (the patient died, the event that completes it came): nobody is told.
   * Called by the delivery that claimed it.
   */
  async markSkipped(id: string, why: string): Promise<void> {
    await this.pool.query(
      `UPDATE notifications SET status = 'skipped', last_error = $2, claimed_until = NULL
        WHERE id = $1 AND status = 'pending'`,
      [id, why],
    );
  }

  /** Not to be sent (BACKFILL_EMAILS): skipped with the reason, in one statement; one being sent right now is left. */
  async skipUnclaimed(ids: string[], why: string): Promise<void> {
    if (ids.length === 0) return;
    await this.pool.query(
      `UPDATE notifications SET status = 'skipped', last_error = $2
        WHERE id = ANY($1) AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < now())`,
      [ids, why],
    );
  }

  async markFailed(id: string, error: string): Promise<void> {
    await this.pool.query(
      `UPDATE notifications SET status = 'failed', last_error = $2, claimed_until = NULL WHERE id = $1`,
      [id, error.slice(0, 500)],
    );
  }

  /**
   * A lead resends a failed email (after fixing the member's address): pending again under the same id, to the
   * member's current address, handed to delivery in the same transaction. False when it had not failed.
   */
  async resend(id: string, now: Date): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query(
        `UPDATE notifications n SET status = 'pending', last_error = NULL, email = m.email
           FROM team_members m WHERE n.id = $1 AND n.status = 'failed' AND m.id = n.member_id`,
        [id],
      );
      if (rowCount !== 1) return false;
      await enqueueDelivery(client, [id], 'resend', now);
      return true;
    });
  }
}
