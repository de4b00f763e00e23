import type { Pool } from 'pg';
import {
  addMonths,
  itemsDueBetween,
  surveillanceOrderTask,
  surveillanceOverdueTask,
  surveillancePlan,
  type Effect,
  type PathwayConfig,
  type PatientState,
  type SurveillanceItem,
} from '@app/pathway';
import { taskRow } from './apply-clinical-event';
import type { CareTaskStore } from './care-tasks';
import { inTransaction, withClient } from './database';
import { enqueueDelivery, releaseHeldEmails, type NotificationStore } from './notifications';

export interface SweepReport {
  /** Patients whose plan was written further ahead (the rolling horizon moving with time). */
  horizonsExtended: number;
  itemsWritten: number;
  /** imaging-order / visit-reminder tasks opened ahead of an item's window. */
  ordersOpened: number;
  /** surveillance-overdue tasks opened (R-SURV-OVERDUE). */
  overdueOpened: number;
  /** Overdue items recorded as missed because a later item of the same kind is overdue too (chased instead). */
  itemsMissed: number;
  /** Escalation steps applied (R-LR-ESCALATE step 5, R-SURV-OVERDUE). */
  escalations: number;
  /** Tasks routed that had nobody (a lost tasks-created job). */
  routed: number;
  /** Pending emails handed to delivery again (a lost deliver job). */
  emailsRequeued: number;
  /** Digest emails written, and the task emails they replaced (SweeperOptions.emailDigestAfter). */
  emailDigests: number;
  emailsDigested: number;
  /** Open tasks nobody can take (no active member in their teams): an operator must add one (GET /tasks shows them). */
  unroutable: number;
}

export interface SweeperOptions {
  /**
   * A member to whom one pass assigns more non-urgent tasks than this gets one digest email listing them instead of
   * one email each (EMAIL_DIGEST_AFTER; 0: always one each). Urgent tasks are always emailed one by one, at once.
   */
  emailDigestAfter: number;
}

export const DEFAULT_SWEEPER_OPTIONS: SweeperOptions = { emailDigestAfter: 10 };

const BATCH = 500;
/** pg_advisory_lock key of the sweep (any constant the service uses for nothing else). */
const SWEEP_LOCK = 7_318_001;
/** Patients listed at a time by the horizon pass (then written BATCH at a time). */
const MAX_HORIZONS = 50_000;
/** A task or email younger than this is still in the normal path's hands (its job is on its way). */
const GRACE_MS = 60_000;

/** Where a pass over the items to order or chase has got to: the last item it read, in the order it reads them. */
interface ItemCursor {
  at: string;
  patientId: string;
  itemKey: string;
}

interface ItemRow {
  patient_id: string;
  item_key: string;
  plan_event_id: string;
  kind: SurveillanceItem['kind'];
  rule_id: string;
  modality: SurveillanceItem['modality'] | null;
  region: SurveillanceItem['region'] | null;
  due_at: string;
  overdue_at: string;
}

/**
 * Re-derives from PostgreSQL everything time makes due (DESIGN invariant 6: Redis may forget, PostgreSQL may not):
 * plans written ahead as time moves, each item's order `orderLeadDays` before it is due, an overdue task when its
 * window has closed, escalations whose time has come, tasks nobody routed and emails nobody sent. Each pass is
 * idempotent (deterministic task ids, flags on the items, re-checked escalation levels), so running it twice, or
 * in two workers at once, changes nothing more. Closed patients are skipped: their items are cancelled and their
 * tasks closed by the event that closed them, and the patient row is share-locked so that event cannot interleave.
 */
export class SurveillanceSweeper {
  constructor(
    private readonly pool: Pool,
    private readonly config: PathwayConfig,
    private readonly tasks: CareTaskStore,
    private readonly notifications: NotificationStore,
    private readonly options: SweeperOptions = DEFAULT_SWEEPER_OPTIONS,
  ) {}

  /**
   * One sweep at a time across every worker: two at once (the scheduler's and one asked for, or two workers' after a
   * restart) did the same work twice and contended for the same rows (seen after a 100,000-patient backfill). A
   * second sweep waits for the first, then finds what is left. The lock is a session-level advisory lock on a
   * connection of its own, so it goes with that connection if the process dies.
   */
  async sweep(now: Date): Promise<SweepReport> {
    return withClient(this.pool, async (lock, discard) => {
      await lock.query('SELECT pg_advisory_lock($1)', [SWEEP_LOCK]);
      try {
        return await this.sweepAlone(now);
      } finally {
        // a lock that could not be let go goes with its connection
        await lock.query('SELECT pg_advisory_unlock($1)', [SWEEP_LOCK]).catch(discard);
      }
    });
  }

  /**
   * The emails of the tasks this pass opened (and any a crash held back before): each member gets them one by one, or
   * one digest when they are more than `emailDigestAfter` (a sweep after a backfill, a schedule change).
   */
  private async releaseHeldEmails(now: Date, report: SweepReport): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      const released = await releaseHeldEmails(client, now, this.options.emailDigestAfter);
      for (let i = 0; i < released.ids.length; i += BATCH) {
        await enqueueDelivery(client, released.ids.slice(i, i + BATCH), 'sweep-emails', now);
      }
      report.emailDigests += released.digests;
      report.emailsDigested += released.digested;
    });
  }

  private async sweepAlone(now: Date): Promise<SweepReport> {
    const report: SweepReport = {
      horizonsExtended: 0,
      itemsWritten: 0,
      ordersOpened: 0,
      overdueOpened: 0,
      itemsMissed: 0,
      escalations: 0,
      routed: 0,
      emailsRequeued: 0,
      emailDigests: 0,
      emailsDigested: 0,
      unroutable: 0,
    };
    // Each pass works in batches until a batch comes back short (bounded, in case rows keep qualifying).
    const batches = async (pass: () => Promise<number>) => {
      for (let i = 0; i < 10_000 && (await pass()) === BATCH; i += 1);
    };
    // routing's load counts: the deltas the tasks table's triggers appended since the last pass, folded in (migration 007)
    await this.pool.query('SELECT fold_member_open_tasks()');
    await this.extendHorizons(now, report);
    // Each pass reads on from where its last batch ended: the overdue index (migration 005) keeps the items already
    // chased, so starting over each batch walked past all of them again (30 s of a 100,000-patient catch-up)
    await batches(this.itemTaskBatches('order', now, report));
    report.itemsMissed = await this.recordMissed(now);
    await batches(this.itemTaskBatches('overdue', now, report));
    await this.releaseHeldEmails(now, report);
    // Tasks nobody routed first (a lost tasks-created job): an escalation goes to the leads of the task's team, and to
    // its assignee, so the task must have them before it escalates.
    const before = new Date(now.getTime() - GRACE_MS);
    let unroutable = 0;
    await batches(async () => {
      const { candidates, routed } = await this.tasks.routeUnrouted(now, before, BATCH, unroutable);
      report.routed += routed;
      unroutable += candidates - routed;
      return candidates;
    });
    // Escalations commit BATCH tasks at a time; their emails go to delivery together (one outbox row, not one per
    // task). A crash in between leaves them pending, and the next pass hands them to delivery (stalePendingIds below).
    const escalationEmails: string[] = [];
    const due = await this.tasks.escalationCandidates(now, 10_000);
    for (let i = 0; i < due.length; i += BATCH) {
      const { steps, notificationIds } = await this.tasks.escalateMany(due.slice(i, i + BATCH), now);
      report.escalations += steps;
      escalationEmails.push(...notificationIds);
    }
    for (let i = 0; i < escalationEmails.length; i += BATCH) {
      await enqueueDelivery(this.pool, escalationEmails.slice(i, i + BATCH), 'sweep-escalation', now);
    }
    const stale = await this.notifications.stalePendingIds(before, 10_000);
    for (let i = 0; i < stale.length; i += BATCH) {
      await enqueueDelivery(this.pool, stale.slice(i, i + BATCH), 'sweep-requeue', now);
    }
    report.emailsRequeued = stale.length;
    report.unroutable = (
      await this.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM tasks WHERE assignee_id IS NULL AND status = 'requested' AND created_at < $1`,
        [before.toISOString()],
      )
    ).rows[0].n;
    return report;
  }

  /**
   * Writes the plan in force up to `materializeMonthsAhead` past now, for patients whose events have not. The patients
   * that need it are found with one statement (it reads every patient's row: the patients table has no index but its
   * key, so that the event door's updates stay HOT), then written 500 at a time.
   */
  private async extendHorizons(now: Date, report: SweepReport): Promise<void> {
    const until = addMonths(now.toISOString(), this.config.surveillance.materializeMonthsAhead);
    // a month of slack: the sweep writes ahead in steps, not on every run
    const threshold = addMonths(until, -1);
    // bounded, as the other passes are (a full list means another look: the ones written no longer qualify)
    for (let round = 0; round < 100; round += 1) {
      // The plan's terms are taken out of each state in the scan (OFFSET 0 keeps the planner from carrying the whole
      // state, ~1 kB a patient, into the join), and patients whose own horizon is already far enough are dropped
      // there (GREATEST(m, w) < $1 needs m < $1, or no m): the join sees a fraction of the table.
      const { rows: due } = await this.pool.query<{ patient_id: string }>(
        `SELECT p.patient_id
           FROM (SELECT patient_id, state #>> '{surveillance,anchorEventId}' AS anchor,
                        (state #>> '{surveillance,materializedUntil}')::timestamptz AS materialized_until
                   FROM patients
                  WHERE pathway <> 'closed' AND state #>> '{surveillance,anchorEventId}' IS NOT NULL
                    AND ((state #>> '{surveillance,materializedUntil}')::timestamptz >= $1) IS NOT TRUE
                 OFFSET 0) p
           LEFT JOIN surveillance_horizons h ON h.patient_id = p.patient_id AND h.anchor_event_id = p.anchor
          WHERE GREATEST(p.materialized_until, h.written_until) < $1
          ORDER BY p.patient_id LIMIT $2`,
        [threshold, MAX_HORIZONS],
      );
      for (let i = 0; i < due.length; i += BATCH) {
        const batch = due.slice(i, i + BATCH).map((r) => r.patient_id);
        await this.extendBatch(batch, now, until, report);
      }
      if (due.length < MAX_HORIZONS) return;
    }
  }

  /** One batch of extendHorizons, in a transaction; the patients are re-read (and share-locked) in it. */
  private async extendBatch(patientIds: string[], now: Date, until: string, report: SweepReport): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      // only the plan's terms travel (the state is ~1 kB a patient; the plan a tenth of it)
      const { rows: locked } = await client.query<{
        patient_id: string;
        plan: PatientState['surveillance'];
        written_until: string | null;
      }>(
        `SELECT p.patient_id, p.state -> 'surveillance' AS plan, h.written_until FROM patients p
           LEFT JOIN surveillance_horizons h
             ON h.patient_id = p.patient_id AND h.anchor_event_id = p.state #>> '{surveillance,anchorEventId}'
          WHERE p.patient_id = ANY($1) AND p.pathway <> 'closed'
          ORDER BY p.patient_id FOR SHARE OF p`,
        [patientIds],
      );
      const items: (SurveillanceItem & { patientId: string; planEventId: string })[] = [];
      const horizons: { patientId: string; anchor: string }[] = [];
      for (const { patient_id, plan, written_until } of locked) {
        if (!plan) continue;
        const from = written_until && written_until > plan.materializedUntil ? written_until : plan.materializedUntil;
        const upTo = surveillancePlan(
          plan.anchorEventId,
          plan.anchorAt,
          plan.schedule,
          plan.ruleId,
          this.config,
          until,
        );
        for (const item of itemsDueBetween(upTo, from, until))
          items.push({ ...item, patientId: patient_id, planEventId: plan.anchorEventId });
        horizons.push({ patientId: patient_id, anchor: plan.anchorEventId });
      }
      if (items.length > 0) {
        const { rowCount } = await client.query(
          `INSERT INTO surveillance_items (patient_id, item_key, plan_event_id, kind, rule_id, modality, region, due_at,
                                          overdue_at, created_at, updated_at)
           SELECT i."patientId", i.key, i."planEventId", i.kind, i."ruleId", i.modality, i.region, i."dueAt", i."overdueAt", $2, $2
             FROM jsonb_to_recordset($1) AS i("patientId" text, key text, "planEventId" text, kind text, "ruleId" text,
                                               modality text, region text, "dueAt" timestamptz, "overdueAt" timestamptz)
           ON CONFLICT (patient_id, item_key) DO NOTHING`,
          [JSON.stringify(items), now.toISOString()],
        );
        report.itemsWritten += rowCount ?? 0;
      }
      await client.query(
        `INSERT INTO surveillance_horizons (patient_id, anchor_event_id, written_until)
         SELECT h."patientId", h.anchor, $2 FROM jsonb_to_recordset($1) AS h("patientId" text, anchor text)
         ON CONFLICT (patient_id) DO UPDATE SET anchor_event_id = EXCLUDED.anchor_event_id, written_until = EXCLUDED.written_until`,
        [JSON.stringify(horizons), until],
      );
      report.horizonsExtended += horizons.length;
    });
  }

  /**
   * A patient who missed several items of one kind needs one call, about the latest: an overdue item with a later
   * overdue item of the same kind is recorded as `missed` (the record keeps it) and the tasks chasing it are
   * cancelled; the latest is chased by R-SURV-OVERDUE. (Matters after an outage, and for a backfill of years.)
   */
  private async recordMissed(now: Date): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      // The planner cannot tell how few planned items are past their window (it guesses a fifth of them), prices the
      // statement high and JIT-compiles it: ~150 ms on every pass, to update a handful of rows (docs/performance.md).
      await client.query('SET LOCAL jit = off');
      const { rows } = await client.query<{ patient_id: string; item_key: string }>(
        `UPDATE surveillance_items si SET status = 'missed', updated_at = $1
          WHERE si.status = 'planned' AND si.overdue_at < $1
            AND EXISTS (SELECT 1 FROM surveillance_items later
                         WHERE later.patient_id = si.patient_id AND later.kind = si.kind AND later.status = 'planned'
                           AND later.overdue_at < $1 AND later.due_at > si.due_at)
        RETURNING si.patient_id, si.item_key`,
        [now.toISOString()],
      );
      if (rows.length === 0) return 0;
      const { rows: cancelled } = await client.query<{ id: string; status: string }>(
        `UPDATE tasks t SET status = 'cancelled', closed_at = $3, updated_at = $3
           FROM tasks old
          WHERE old.id = t.id AND (t.patient_id, t.surveillance_item_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))
            AND t.status IN ('requested', 'accepted', 'in-progress', 'on-hold')
         RETURNING t.id, old.status`,
        [rows.map((r) => r.patient_id), rows.map((r) => r.item_key), now.toISOString()],
      );
      if (cancelled.length > 0) {
        await client.query(
          `INSERT INTO task_history (task_id, at, actor, action, from_status, to_status, reason)
           SELECT c.id, $2, 'system', 'superseded', c.status, 'cancelled',
                  'a later item of the same kind is overdue too: that one is chased (R-SURV-OVERDUE)'
             FROM jsonb_to_recordset($1) AS c(id uuid, status text)`,
          [JSON.stringify(cancelled), now.toISOString()],
        );
      }
      return rows.length;
    });
  }

  /**
   * `order`: items whose order time has come (due within `orderLeadDays`) get an imaging-order or visit-reminder; an
   * item already past its window gets no order (the overdue task chases it). `overdue`: items past their window get
   * a surveillance-overdue task (R-SURV-OVERDUE). The flag on the item and the task's deterministic id make it once.
   */
  /** The batches of one openItemTasks pass, each starting after the last candidate of the one before. */
  private itemTaskBatches(pass: 'order' | 'overdue', now: Date, report: SweepReport): () => Promise<number> {
    let after: ItemCursor | null = null;
    return async () => {
      const { candidates, last } = await this.openItemTasks(pass, now, report, after);
      after = last;
      return candidates;
    };
  }

  private async openItemTasks(
    pass: 'order' | 'overdue',
    now: Date,
    report: SweepReport,
    after: ItemCursor | null,
  ): Promise<{ candidates: number; last: ItemCursor | null }> {
    const nowIso = now.toISOString();
    const lead = this.config.surveillance.orderLeadDays;
    // the order of the index (due_at / overdue_at), then the item's key: a total order to carry on from
    const at = pass === 'order' ? 'due_at' : 'overdue_at';
    const params: unknown[] = [nowIso, BATCH];
    const window =
      pass === 'order'
        ? `ordered_at IS NULL AND due_at <= $1::timestamptz + make_interval(days => $${params.push(lead)})`
        : 'overdue_task_at IS NULL AND overdue_at < $1';
    let onFrom = '';
    if (after) {
      const [a, p, k] = [after.at, after.patientId, after.itemKey].map((value) => `$${params.push(value)}`);
      onFrom = `AND ${at} >= ${a} AND (${at}, patient_id, item_key) > (${a}, ${p}, ${k})`;
    }
    const { rows: candidates } = await this.pool.query<{ patient_id: string; item_key: string; at: string }>(
      `SELECT patient_id, item_key, ${at} AS at FROM surveillance_items
        WHERE status = 'planned' AND ${window} ${onFrom}
        ORDER BY ${at}, patient_id, item_key LIMIT $2`,
      params,
    );
    if (candidates.length === 0) return { candidates: 0, last: null };
    const end = candidates[candidates.length - 1];
    const last: ItemCursor = { at: end.at, patientId: end.patient_id, itemKey: end.item_key };
    const flag = pass === 'order' ? 'ordered_at' : 'overdue_task_at';
    const opened = await inTransaction(this.pool, async (client) => {
      const patients = [...new Set(candidates.map((c) => c.patient_id))];
      await client.query(`SELECT 1 FROM patients WHERE patient_id = ANY($1) ORDER BY patient_id FOR SHARE`, [patients]);
      // The items are found by their key. Without fresh statistics (after a backfill, before autovacuum's analyze)
      // the planner ANDed each key lookup with a bitmap of the whole partial index of items to order or chase: 3.5 s
      // and more a batch at 3,700,000 items (docs/performance.md). Key lookups only, whatever the statistics say.
      await client.query('SET LOCAL enable_bitmapscan = off');
      const { rows: items } = await client.query<ItemRow>(
        `UPDATE surveillance_items si SET ${flag} = $3
           FROM patients p
          WHERE p.patient_id = si.patient_id AND p.pathway <> 'closed'
            AND (si.patient_id, si.item_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))
            AND si.status = 'planned' AND si.${flag} IS NULL
         RETURNING si.patient_id, si.item_key, si.plan_event_id, si.kind, si.rule_id, si.modality, si.region, si.due_at,
                   si.overdue_at`,
        [candidates.map((c) => c.patient_id), candidates.map((c) => c.item_key), nowIso],
      );
      await client.query('SET LOCAL enable_bitmapscan = on');
      const tasks: {
        patientId: string;
        eventId: string;
        itemKey: string;
        effect: Extract<Effect, { kind: 'open-task' }>;
      }[] = [];
      for (const row of items) {
        const item: SurveillanceItem = {
          key: row.item_key,
          kind: row.kind,
          ruleId: row.rule_id,
          ...(row.modality ? { modality: row.modality } : {}),
          ...(row.region ? { region: row.region } : {}),
          dueAt: row.due_at,
          overdueAt: row.overdue_at,
        };
        if (pass === 'order' && Date.parse(item.overdueAt) < now.getTime()) continue; // the overdue pass chases it
        const effect = pass === 'order' ? surveillanceOrderTask(item) : surveillanceOverdueTask(item, this.config);
        tasks.push({ patientId: row.patient_id, eventId: row.plan_event_id, itemKey: row.item_key, effect });
      }
      if (tasks.length === 0) return [];
      const { rows: inserted } = await client.query<{ id: string }>(
        `INSERT INTO tasks (id, task_key, patient_id, event_id, type, rule_id, priority, due_at, reason, modality, region,
                            escalate, surveillance_item_key, created_at, updated_at)
         SELECT t.id, t.task_key, t.patient_id, t.event_id, t.type, t.rule_id, t.priority, t.due_at, t.reason, t.modality,
                t.region, t.escalate, t.item_key, $2, $2
           FROM jsonb_to_recordset($1) AS t(id uuid, task_key text, patient_id text, event_id text, type text,
                                             rule_id text, priority text, due_at timestamptz, reason text, modality text,
                                             region text, escalate boolean, item_key text)
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [
          JSON.stringify(
            tasks.map(({ patientId, eventId, itemKey, effect }) => ({
              ...taskRow(effect),
              patient_id: patientId,
              event_id: eventId,
              item_key: itemKey,
            })),
          ),
          nowIso,
        ],
      );
      const ids = inserted.map((r) => r.id);
      // the non-urgent tasks' emails wait for the end of the pass (releaseHeldEmails): one digest when they are many
      const { notificationIds } = await this.tasks.routeInTransaction(client, ids, now, { holdEmails: true });
      await enqueueDelivery(client, notificationIds, `sweep-${pass}`, now);
      return ids;
    });
    if (pass === 'order') report.ordersOpened += opened.length;
    else report.overdueOpened += opened.length;
    return { candidates: candidates.length, last };
  }
}
