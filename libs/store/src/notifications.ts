import type { Pool, PoolClient } from 'pg';
import { NOTIFICATIONS_QUEUE } from '@app/contracts';
import { OPEN_TASK_STATUSES, type TaskStatus } from '@app/navigation';
import type { OutboxJob } from './apply-clinical-event';
export type { NotificationKind };
import { inTransaction } from './database';
import { PRIORITY_ORDER } from './read-models';

import { DIGEST_KIND, DIGEST_LISTED, type NotificationKind } from '@app/notify';

/** An email to write: to a team member, about a task. `detail` holds codes only (template, level), never patient data. */
export interface NewNotification {
  id: string;
  kind: NotificationKind;
  taskId: string;
  memberId: string;
  email: string;
  detail?: Record<string, unknown>;
  /** Written 'held' for the sweeper's end of pass (releaseHeld), not 'pending'; not returned for delivery. */
  held?: boolean;
}

export interface PendingTaskFacts {
  id: string;
  type: string;
  priority: string;
  status: TaskStatus;
  dueAt: string;
  ruleId: string;
}

/** What the email delivery needs to render and send one notification: about one task, or a digest of many. */
export type PendingNotification = PendingTaskEmail | PendingDigest;

interface PendingEmail {
  id: string;
  email: string;
  detail: Record<string, unknown>;
  attempts: number;
}

export interface PendingTaskEmail extends PendingEmail {
  kind: NotificationKind;
  task: PendingTaskFacts;
}

export interface PendingDigest extends PendingEmail {
  kind: typeof DIGEST_KIND;
  /** assigned: the tasks it was written for; open: how many are open now; tasks: the first DIGEST_LISTED of those. */
  digest: { assigned: number; open: number; high: number; tasks: PendingTaskFacts[] };
}

/** Each member's held emails beyond this many become one digest (EMAIL_DIGEST_AFTER; 0: never). */
export interface HeldEmailsReleased {
  /** To hand to delivery: the held emails sent as they are, and the digests. */
  ids: string[];
  digests: number;
  /** Held emails folded into digests. */
  digested: number;
}

type Queryable = Pool | PoolClient;

/** How long a delivery holds a notification it is sending: longer than a send can take (SMTP timeouts are 10 s). */
export const CLAIM_SECONDS = 60;

/**
 * Writes notification rows (inside the caller's transaction); an id written before is left as it is. Returns the ids
 * to hand to delivery (the held ones wait for the sweeper's end of pass).
 */
export async function insertNotifications(db: Queryable, rows: NewNotification[], now: Date): Promise<string[]> {
  if (rows.length === 0) return [];
  const payload = rows.map((r) => ({ ...r, detail: r.detail ?? {}, status: r.held ? 'held' : 'pending' }));
  await db.query(
    `INSERT INTO notifications (id, kind, task_id, member_id, email, detail, status, created_at)
     SELECT n.id, n.kind, n."taskId", n."memberId", n.email, n.detail, n.status, $2
       FROM jsonb_to_recordset($1) AS n(id text, kind text, "taskId" uuid, "memberId" uuid, email text, detail jsonb,
                                        status text)
     ON CONFLICT (id) DO NOTHING`,
    [JSON.stringify(payload), now.toISOString()],
  );
  return rows.filter((r) => !r.held).map((r) => r.id);
}

/**
 * The sweeper's end of pass (docs/navigation.md, "Many surveillance tasks at once"): each member's held emails (routing with holdEmails) go as
 * they are when there are `digestAfter` or fewer, or become one 'task-digest' email listing their tasks when there are
 * more (`digestAfter` 0: never). In the caller's transaction. Only the sweeper holds emails, under its lock: nothing
 * else changes held rows meanwhile.
 */
export async function releaseHeldEmails(db: Queryable, now: Date, digestAfter: number): Promise<HeldEmailsReleased> {
  const { rows: members } = await db.query<{ member_id: string; n: number }>(
    `SELECT member_id, count(*)::int AS n FROM notifications WHERE status = 'held' GROUP BY member_id`,
  );
  const many = members.filter((m) => digestAfter > 0 && m.n > digestAfter).map((m) => m.member_id);
  const few = members.filter((m) => !many.includes(m.member_id)).map((m) => m.member_id);
  const ids: string[] = [];
  if (few.length > 0) {
    const { rows } = await db.query<{ id: string }>(
      `UPDATE notifications SET status = 'pending' WHERE status = 'held' AND member_id = ANY($1) RETURNING id`,
      [few],
    );
    ids.push(...rows.map((r) => r.id).sort());
  }
  let digested = 0;
  if (many.length > 0) {
    // One pass over the held rows and no join: with the statistics of before the sweep (autovacuum's analyze has not
    // seen the rows the pass just wrote) a join of the held rows with their digests was planned as a nested loop and
    // took 59 s for 232,000 emails; this takes a few seconds whatever the statistics say. The transaction id makes
    // the digest's id unique (a member's held emails are released once, in one transaction).
    const { rows } = await db.query<{ id: string; n: number }>(
      `WITH digested AS (
         UPDATE notifications SET status = 'digested', digest_id = 'digest.' || member_id || '.' || pg_current_xact_id()
          WHERE status = 'held' AND member_id = ANY($1)
         RETURNING id, member_id, task_id, email, created_at, digest_id)
       INSERT INTO notifications (id, kind, task_ids, member_id, email, detail, created_at)
       SELECT digest_id, $2, array_agg(task_id ORDER BY created_at, id), member_id,
              (array_agg(email ORDER BY created_at DESC, id DESC))[1], jsonb_build_object('tasks', count(*)), $3
         FROM digested GROUP BY member_id, digest_id
       RETURNING id, (detail ->> 'tasks')::int AS n`,
      [many, DIGEST_KIND, now.toISOString()],
    );
    ids.push(...rows.map((r) => r.id).sort());
    digested = rows.reduce((sum, r) => sum + r.n, 0);
    return { ids, digests: rows.length, digested };
  }
  return { ids, digests: 0, digested };
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

  /**
   * The given notifications that are still pending, with the task facts their message carries; a digest with its
   * open tasks in worklist order (the first DIGEST_LISTED) and how many are open.
   */
  async pending(ids: string[]): Promise<PendingNotification[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<
      PendingEmail & { kind: PendingNotification['kind']; task: PendingTaskFacts | null; task_ids: string[] | null }
    >(
      `SELECT n.id, n.kind, n.email, n.detail, n.attempts, n.task_ids,
              CASE WHEN t.id IS NOT NULL THEN
                json_build_object('id', t.id, 'type', t.type, 'priority', t.priority, 'status', t.status,
                                  'dueAt', t.due_at, 'ruleId', t.rule_id) END AS task
         FROM notifications n LEFT JOIN tasks t ON t.id = n.task_id
        WHERE n.id = ANY($1) AND n.status = 'pending' AND (t.id IS NOT NULL OR n.task_ids IS NOT NULL)
        ORDER BY n.created_at, n.id`,
      [ids],
    );
    const pending: PendingNotification[] = [];
    for (const { task, task_ids, ...email } of rows) {
      if (email.kind === DIGEST_KIND) {
        pending.push({ ...email, kind: DIGEST_KIND, digest: await this.digestOf(task_ids ?? []) });
      } else if (task) {
        pending.push({ ...email, kind: email.kind, task: { ...task, dueAt: new Date(task.dueAt).toISOString() } });
      }
    }
    return pending;
  }

  private async digestOf(taskIds: string[]): Promise<PendingDigest['digest']> {
    const { rows } = await this.pool.query<PendingTaskFacts & { open: number; high: number }>(
      `SELECT t.id, t.type, t.priority, t.status, t.due_at AS "dueAt", t.rule_id AS "ruleId",
              count(*) OVER ()::int AS open, (count(*) FILTER (WHERE t.priority <> 'routine') OVER ())::int AS high
         FROM tasks t
        WHERE t.id = ANY($1) AND t.status = ANY($2::text[])
        ORDER BY ${PRIORITY_ORDER}, t.due_at, t.id
        LIMIT $3`,
      [taskIds, OPEN_TASK_STATUSES, DIGEST_LISTED],
    );
    return {
      assigned: taskIds.length,
      open: rows[0]?.open ?? 0,
      high: rows[0]?.high ?? 0,
      tasks: rows.map(({ open: _open, high: _high, ...t }) => ({ ...t, dueAt: new Date(t.dueAt).toISOString() })),
    };
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
