import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Pool, PoolClient } from 'pg';
import { NOTIFICATIONS_QUEUE, type ClinicalEvent } from '@app/contracts';
import { isOpen, type TaskStatus } from '@app/navigation';
import type { Effect, Pathway, PatientState } from '@app/pathway';
import {
  asRecorded,
  ClinicalEventApplier,
  compareClinicalOrder,
  MAX_ATTEMPTS,
  RETRYABLE,
  toWrites,
  type ApplyOptions,
  type ApplyOutcome,
  type OutboxJob,
  type TaskRow,
} from './apply-clinical-event';
import { inTransaction } from './database';

/** A task of one patient as the batch sees it: read from the database, or opened by an event of the batch. */
interface TaskModel {
  id: string;
  type: string;
  status: TaskStatus;
  itemKey: string | null;
  /** Opened by this batch: inserted with its final status. Otherwise: updated if `closedBy` is set. */
  row: (TaskRow & { eventId: string }) | null;
  closedBy: string | null;
}

interface ItemModel {
  key: string;
  kind: string;
  dueAt: string;
  status: string;
  /** Planned by this batch: inserted with its final status. */
  row: {
    planEventId: string;
    ruleId: string;
    modality: string | null;
    region: string | null;
    overdueAt: string;
  } | null;
  changed: boolean;
  doneAt: string | null;
  doneBy: string | null;
}

interface DecidedEvent {
  event: ClinicalEvent;
  index: number;
  readVersion: number;
  outcome: 'applied' | 'unexpected';
  effects: string;
  writes: ReturnType<typeof toWrites>;
  taskIds: string[];
  pathway: string;
  effectList: Effect[];
}

interface PatientInBatch {
  patientId: string;
  exists: boolean;
  version: number;
  state: PatientState;
  last: { occurredAt: string; eventId: string } | null;
  decided: DecidedEvent[];
  /** From this event on (a late arrival), the patient's events go through the one-event door after the batch. */
  deferred: { event: ClinicalEvent; index: number }[];
}

export interface BatchOutcome {
  /** One outcome per input event, in input order. */
  outcomes: ApplyOutcome[];
  /** Events of patients with a late arrival in the batch, applied one at a time after it. */
  deferred: number;
  attempts: number;
}

/**
 * Many clinical events in one transaction, for a backfill of history: the same decisions and the same rows as
 * the one-event door (ClinicalEventApplier and the apply_clinical_event function of migration 003), written with
 * a handful of set-based statements instead of one statement and one commit per event.
 *
 * The batch locks its patients (sorted, so two batches cannot deadlock on them), reads their state, open tasks
 * and planned surveillance items, then walks each patient's events in batch order through the pure pathway and
 * replays, in memory, exactly what the SQL function would do to tasks and items: close tasks by type, open new
 * ones, cancel the plan, plan items, fulfil an item. Then it writes the final rows. All or nothing: a conflict
 * (another process applied one of these events or moved one of these patients) rolls back and re-reads.
 *
 * A patient whose batch holds an event that arrived late (clinically before one already applied) stops at that
 * event in the batch; that event and the patient's later ones go through the one-event door after the commit,
 * which rebuilds the state in clinical order (R-LATE-EVENT). Nothing is reordered and nothing is skipped.
 */
export class ClinicalEventBatchApplier {
  constructor(
    private readonly pool: Pool,
    private readonly pathway: Pathway,
    private readonly single: ClinicalEventApplier,
    private readonly instanceId = `${hostname()}:${process.pid}`,
  ) {}

  async applyBatch(events: ClinicalEvent[], batchOptions: ApplyOptions): Promise<BatchOutcome> {
    // every notification job of a batch says it comes from a backfill (BACKFILL_EMAILS), late arrivals' too
    const options: ApplyOptions = { ...batchOptions, fromBackfill: true };
    for (let attempt = 1; ; attempt += 1) {
      try {
        const { outcomes, deferred } = await inTransaction(this.pool, (client) =>
          this.attempt(client, events, options),
        );
        // After the commit, in the patient's order: the late arrival and what followed it.
        for (const patient of deferred) {
          for (const { event, index } of patient) outcomes[index] = await this.single.apply(event, options);
        }
        return { outcomes, deferred: deferred.reduce((n, p) => n + p.length, 0), attempts: attempt };
      } catch (err) {
        if (!RETRYABLE.has((err as { code?: string }).code ?? '') || attempt >= MAX_ATTEMPTS) throw err;
      }
    }
  }

  private async attempt(
    client: PoolClient,
    events: ClinicalEvent[],
    options: ApplyOptions,
  ): Promise<{ outcomes: ApplyOutcome[]; deferred: { event: ClinicalEvent; index: number }[][] }> {
    const outcomes: ApplyOutcome[] = new Array(events.length);
    const patientIds = [...new Set(events.map((e) => e.patientId))].sort();
    const eventIds = [...new Set(events.map((e) => e.eventId))];

    const [stored, logged] = [
      await client.query<{
        patient_id: string;
        state: PatientState;
        version: number;
        last_occurred_at: string | null;
        last_event_id: string | null;
      }>({
        name: 'batch-lock-patients',
        text: `SELECT patient_id, state, version, last_occurred_at, last_event_id FROM patients
                WHERE patient_id = ANY($1::text[]) ORDER BY patient_id COLLATE "C" FOR UPDATE`,
        values: [patientIds],
      }),
      await client.query<{ event_id: string }>({
        name: 'batch-logged-events',
        text: 'SELECT event_id FROM clinical_events WHERE event_id = ANY($1::text[])',
        values: [eventIds],
      }),
    ];
    const seen = new Set(logged.rows.map((r) => r.event_id));
    const patients = new Map<string, PatientInBatch>();
    for (const id of patientIds) {
      patients.set(id, {
        patientId: id,
        exists: false,
        version: 0,
        state: this.pathway.initialState(),
        last: null,
        decided: [],
        deferred: [],
      });
    }
    for (const row of stored.rows) {
      const p = patients.get(row.patient_id)!;
      p.exists = true;
      p.version = row.version;
      p.state = row.state;
      p.last = row.last_occurred_at ? { occurredAt: row.last_occurred_at, eventId: row.last_event_id ?? '' } : null;
    }

    // Decide: each patient's events in batch order, through the pure pathway.
    events.forEach((event, index) => {
      const p = patients.get(event.patientId)!;
      if (p.deferred.length > 0) {
        p.deferred.push({ event, index });
        return;
      }
      if (seen.has(event.eventId)) {
        outcomes[index] = { status: 'duplicate', eventId: event.eventId };
        return;
      }
      if (p.last !== null && compareClinicalOrder(event, p.last) < 0) {
        p.deferred.push({ event, index });
        return;
      }
      seen.add(event.eventId);
      const { decision, state } = this.pathway.step(p.state, event);
      const writes = toWrites(event, decision.effects, options);
      p.decided.push({
        event,
        index,
        readVersion: p.version,
        outcome: decision.unexpected ? 'unexpected' : 'applied',
        effects: JSON.stringify(decision.effects.map(asRecorded)),
        writes,
        taskIds: writes.openTasks.map((t) => t.id),
        pathway: state.pathway,
        effectList: decision.effects,
      });
      p.state = state;
      p.version += 1;
      p.last = { occurredAt: event.occurredAt, eventId: event.eventId };
    });

    const decided = [...patients.values()].flatMap((p) => p.decided);
    if (decided.length > 0) {
      const model = await this.readModel(client, patients, decided);
      const { tasks, items } = this.replay(patients, model);
      const seqs = await this.write(client, patients, decided, tasks, items, options);
      for (const d of decided) {
        outcomes[d.index] = {
          status: d.outcome,
          eventId: d.event.eventId,
          seq: seqs.get(d.event.eventId)!,
          patientVersion: d.readVersion + 1,
          pathway: d.pathway,
          effects: d.effectList,
          taskIds: d.taskIds,
        };
      }
    }
    return {
      outcomes,
      deferred: [...patients.values()].filter((p) => p.deferred.length > 0).map((p) => p.deferred),
    };
  }

  /** What the SQL function would look at: the patients' open tasks and planned items, and which new keys exist. */
  private async readModel(client: PoolClient, patients: Map<string, PatientInBatch>, decided: DecidedEvent[]) {
    const existing = [...patients.values()].filter((p) => p.exists && p.decided.length > 0).map((p) => p.patientId);
    const newTaskIds = decided.flatMap((d) => d.taskIds);
    const newItems = decided.flatMap((d) => d.writes.plannedItems.map((i) => [d.event.patientId, i.key] as const));
    const [openTasks, plannedItems, knownTasks, knownItems] = [
      existing.length
        ? await client.query<{
            id: string;
            patient_id: string;
            type: string;
            status: TaskStatus;
            surveillance_item_key: string | null;
          }>({
            name: 'batch-open-tasks',
            text: `SELECT id, patient_id, type, status, surveillance_item_key FROM tasks
                    WHERE patient_id = ANY($1::text[]) AND status NOT IN ('completed', 'cancelled', 'rejected')`,
            values: [existing],
          })
        : { rows: [] },
      existing.length
        ? await client.query<{ patient_id: string; item_key: string; kind: string; due_at: string }>({
            name: 'batch-planned-items',
            text: `SELECT patient_id, item_key, kind, due_at FROM surveillance_items
                    WHERE patient_id = ANY($1::text[]) AND status = 'planned'`,
            values: [existing],
          })
        : { rows: [] },
      newTaskIds.length
        ? await client.query<{ id: string }>({
            name: 'batch-known-tasks',
            text: 'SELECT id FROM tasks WHERE id = ANY($1::uuid[])',
            values: [newTaskIds],
          })
        : { rows: [] },
      newItems.length
        ? await client.query<{ patient_id: string; item_key: string }>({
            name: 'batch-known-items',
            text: `SELECT s.patient_id, s.item_key FROM surveillance_items s
                     JOIN unnest($1::text[], $2::text[]) AS k(patient_id, item_key)
                       ON s.patient_id = k.patient_id AND s.item_key = k.item_key`,
            values: [newItems.map((i) => i[0]), newItems.map((i) => i[1])],
          })
        : { rows: [] },
    ];
    return {
      openTasks: openTasks.rows,
      plannedItems: plannedItems.rows,
      knownTaskIds: new Set(knownTasks.rows.map((r) => r.id)),
      knownItemKeys: new Set(knownItems.rows.map((r) => `${r.patient_id}\u0000${r.item_key}`)),
    };
  }

  /** The SQL function's effects on tasks and items, event by event, in memory (same order as migration 003). */
  private replay(
    patients: Map<string, PatientInBatch>,
    model: Awaited<ReturnType<ClinicalEventBatchApplier['readModel']>>,
  ): { tasks: TaskModel[]; items: Array<ItemModel & { patientId: string }> } {
    const tasksOf = new Map<string, TaskModel[]>();
    const itemsOf = new Map<string, Map<string, ItemModel>>();
    for (const t of model.openTasks) {
      const list = tasksOf.get(t.patient_id) ?? [];
      list.push({
        id: t.id,
        type: t.type,
        status: t.status,
        itemKey: t.surveillance_item_key,
        row: null,
        closedBy: null,
      });
      tasksOf.set(t.patient_id, list);
    }
    for (const i of model.plannedItems) {
      const map = itemsOf.get(i.patient_id) ?? new Map<string, ItemModel>();
      map.set(i.item_key, {
        key: i.item_key,
        kind: i.kind,
        dueAt: i.due_at,
        status: 'planned',
        row: null,
        changed: false,
        doneAt: null,
        doneBy: null,
      });
      itemsOf.set(i.patient_id, map);
    }
    const allTasks: TaskModel[] = [];
    const allItems: Array<ItemModel & { patientId: string }> = [];

    for (const p of patients.values()) {
      if (p.decided.length === 0) continue;
      const tasks = tasksOf.get(p.patientId) ?? [];
      const items = itemsOf.get(p.patientId) ?? new Map<string, ItemModel>();
      const close = (task: TaskModel, status: TaskStatus, eventId: string) => {
        task.status = status;
        task.closedBy = eventId;
      };
      for (const d of p.decided) {
        const { writes } = d;
        const eventId = d.event.eventId;
        for (const c of writes.closeTasks) {
          for (const t of tasks) if (t.type === c.type && isOpen(t.status)) close(t, c.outcome, eventId);
        }
        for (const row of writes.openTasks) {
          if (model.knownTaskIds.has(row.id) || tasks.some((t) => t.id === row.id)) continue;
          tasks.push({
            id: row.id,
            type: row.type,
            status: 'requested',
            itemKey: null,
            row: { ...row, eventId },
            closedBy: null,
          });
        }
        if (writes.cancelSurveillance) {
          for (const item of items.values()) {
            if (item.status !== 'planned') continue;
            item.status = 'cancelled';
            item.changed = true;
          }
          for (const t of tasks) if (t.itemKey !== null && isOpen(t.status)) close(t, 'cancelled', eventId);
        }
        for (const planned of writes.plannedItems) {
          if (model.knownItemKeys.has(`${p.patientId}\u0000${planned.key}`) || items.has(planned.key)) continue;
          items.set(planned.key, {
            key: planned.key,
            kind: planned.kind,
            dueAt: new Date(planned.dueAt).toISOString(),
            status: 'planned',
            row: {
              planEventId: eventId,
              ruleId: planned.ruleId,
              modality: planned.modality ?? null,
              region: planned.region ?? null,
              overdueAt: planned.overdueAt,
            },
            changed: false,
            doneAt: null,
            doneBy: null,
          });
        }
        if (writes.fulfil) {
          const dueBy = Date.parse(writes.fulfil.dueBy);
          let first: ItemModel | null = null;
          for (const item of items.values()) {
            if (item.kind !== writes.fulfil.itemKind || item.status !== 'planned' || Date.parse(item.dueAt) > dueBy)
              continue;
            if (!first || earlier(item, first)) first = item;
          }
          if (first) {
            first.status = 'done';
            first.changed = true;
            first.doneAt = writes.fulfil.doneAt;
            first.doneBy = eventId;
            for (const t of tasks) if (t.itemKey === first.key && isOpen(t.status)) close(t, 'completed', eventId);
          }
        }
      }
      allTasks.push(...tasks.filter((t) => t.row !== null || t.closedBy !== null));
      for (const item of items.values())
        if (item.row !== null || item.changed) allItems.push({ ...item, patientId: p.patientId });
    }
    return { tasks: allTasks, items: allItems };
  }

  /** The final rows, a statement per table; returns each event's log sequence number. */
  private async write(
    client: PoolClient,
    patients: Map<string, PatientInBatch>,
    decided: DecidedEvent[],
    tasks: TaskModel[],
    items: Array<ItemModel & { patientId: string }>,
    options: ApplyOptions,
  ): Promise<Map<string, number>> {
    const now = options.now.toISOString();
    const col = <T, V>(rows: T[], pick: (row: T) => V): V[] => rows.map(pick);

    const inserted = await client.query<{ event_id: string; seq: number }>({
      name: 'batch-insert-events',
      text: `INSERT INTO clinical_events (event_id, patient_id, type, occurred_at, source, correlation_id, envelope,
                                          applied_by, outcome, effects, patient_version)
             SELECT e.event_id, e.patient_id, e.type, e.occurred_at, e.source, e.correlation_id, e.envelope, $9,
                    e.outcome, e.effects, e.patient_version
               FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::jsonb[],
                           $8::text[], $10::jsonb[], $11::int[])
                    AS e(event_id, patient_id, type, occurred_at, source, correlation_id, envelope, outcome, effects,
                         patient_version)
             ON CONFLICT (event_id) DO NOTHING
             RETURNING event_id, seq`,
      values: [
        col(decided, (d) => d.event.eventId),
        col(decided, (d) => d.event.patientId),
        col(decided, (d) => d.event.type),
        col(decided, (d) => d.event.occurredAt),
        col(decided, (d) => d.event.source),
        col(decided, (d) => d.event.correlationId ?? null),
        col(decided, (d) => JSON.stringify(d.event)),
        col(decided, (d) => d.outcome),
        this.instanceId,
        col(decided, (d) => d.effects),
        col(decided, (d) => d.readVersion + 1),
      ],
    });
    if (inserted.rowCount !== decided.length) throw conflict('an event of the batch was applied meanwhile');

    const moved = [...patients.values()].filter((p) => p.decided.length > 0);
    const created = moved.filter((p) => !p.exists);
    const updated = moved.filter((p) => p.exists);
    if (created.length > 0) {
      const result = await client.query({
        name: 'batch-insert-patients',
        text: `INSERT INTO patients (patient_id, pathway, state, version, last_occurred_at, last_event_id, created_at,
                                     updated_at)
               SELECT p.patient_id, p.pathway, p.state, p.version, p.last_occurred_at, p.last_event_id, $7::timestamptz, $7::timestamptz
                 FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::int[], $5::timestamptz[], $6::text[])
                      AS p(patient_id, pathway, state, version, last_occurred_at, last_event_id)
               ON CONFLICT (patient_id) DO NOTHING`,
        values: [
          col(created, (p) => p.patientId),
          col(created, (p) => p.state.pathway),
          col(created, (p) => JSON.stringify(p.state)),
          col(created, (p) => p.version),
          col(created, (p) => p.last?.occurredAt ?? null),
          col(created, (p) => p.last?.eventId ?? null),
          now,
        ],
      });
      if (result.rowCount !== created.length) throw conflict('a patient of the batch was created meanwhile');
    }
    if (updated.length > 0) {
      const result = await client.query({
        name: 'batch-update-patients',
        text: `UPDATE patients SET state = p.state, pathway = p.pathway, version = p.version, updated_at = $8,
                      last_occurred_at = p.last_occurred_at, last_event_id = p.last_event_id
                 FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::int[], $5::int[], $6::timestamptz[], $7::text[])
                      AS p(patient_id, pathway, state, version, read_version, last_occurred_at, last_event_id)
                WHERE patients.patient_id = p.patient_id AND patients.version = p.read_version`,
        values: [
          col(updated, (p) => p.patientId),
          col(updated, (p) => p.state.pathway),
          col(updated, (p) => JSON.stringify(p.state)),
          col(updated, (p) => p.version),
          col(updated, (p) => p.decided[0].readVersion),
          col(updated, (p) => p.last?.occurredAt ?? null),
          col(updated, (p) => p.last?.eventId ?? null),
          now,
        ],
      });
      if (result.rowCount !== updated.length) throw conflict('a patient of the batch moved on meanwhile');
    }

    const newTasks = tasks.filter((t) => t.row !== null);
    if (newTasks.length > 0) {
      const patientOf = new Map(decided.map((d) => [d.event.eventId, d.event.patientId]));
      await client.query({
        name: 'batch-insert-tasks',
        text: `INSERT INTO tasks (id, task_key, patient_id, event_id, type, rule_id, priority, due_at, reason, modality,
                                  region, escalate, status, closed_at, closed_by_event_id, created_at, updated_at)
               SELECT t.id, t.task_key, t.patient_id, t.event_id, t.type, t.rule_id, t.priority, t.due_at, t.reason,
                      t.modality, t.region, t.escalate, t.status, CASE WHEN t.closed_by IS NULL THEN NULL ELSE $15::timestamptz END,
                      t.closed_by, $15::timestamptz, $15::timestamptz
                 FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                             $8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::boolean[], $13::text[],
                             $14::text[])
                      AS t(id, task_key, patient_id, event_id, type, rule_id, priority, due_at, reason, modality, region,
                           escalate, status, closed_by)
               ON CONFLICT (id) DO NOTHING`,
        values: [
          col(newTasks, (t) => t.id),
          col(newTasks, (t) => t.row!.task_key),
          col(newTasks, (t) => patientOf.get(t.row!.eventId)!),
          col(newTasks, (t) => t.row!.eventId),
          col(newTasks, (t) => t.row!.type),
          col(newTasks, (t) => t.row!.rule_id),
          col(newTasks, (t) => t.row!.priority),
          col(newTasks, (t) => t.row!.due_at),
          col(newTasks, (t) => t.row!.reason),
          col(newTasks, (t) => t.row!.modality),
          col(newTasks, (t) => t.row!.region),
          col(newTasks, (t) => t.row!.escalate),
          col(newTasks, (t) => t.status),
          col(newTasks, (t) => t.closedBy),
          now,
        ],
      });
    }
    const closedTasks = tasks.filter((t) => t.row === null && t.closedBy !== null);
    if (closedTasks.length > 0) {
      await client.query({
        name: 'batch-close-tasks',
        text: `UPDATE tasks SET status = c.status, closed_at = $4, updated_at = $4, closed_by_event_id = c.closed_by
                 FROM unnest($1::uuid[], $2::text[], $3::text[]) AS c(id, status, closed_by)
                WHERE tasks.id = c.id AND tasks.status NOT IN ('completed', 'cancelled', 'rejected')`,
        values: [
          col(closedTasks, (t) => t.id),
          col(closedTasks, (t) => t.status),
          col(closedTasks, (t) => t.closedBy),
          now,
        ],
      });
    }

    const newItems = items.filter((i) => i.row !== null);
    if (newItems.length > 0) {
      await client.query({
        name: 'batch-insert-items',
        text: `INSERT INTO surveillance_items (patient_id, item_key, plan_event_id, kind, rule_id, modality, region,
                                               due_at, overdue_at, status, done_at, done_by, created_at, updated_at)
               SELECT i.patient_id, i.item_key, i.plan_event_id, i.kind, i.rule_id, i.modality, i.region, i.due_at,
                      i.overdue_at, i.status, i.done_at, i.done_by, $13::timestamptz, $13::timestamptz
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                             $8::timestamptz[], $9::timestamptz[], $10::text[], $11::timestamptz[], $12::text[])
                      AS i(patient_id, item_key, plan_event_id, kind, rule_id, modality, region, due_at, overdue_at,
                           status, done_at, done_by)
               ON CONFLICT (patient_id, item_key) DO NOTHING`,
        values: [
          col(newItems, (i) => i.patientId),
          col(newItems, (i) => i.key),
          col(newItems, (i) => i.row!.planEventId),
          col(newItems, (i) => i.kind),
          col(newItems, (i) => i.row!.ruleId),
          col(newItems, (i) => i.row!.modality),
          col(newItems, (i) => i.row!.region),
          col(newItems, (i) => i.dueAt),
          col(newItems, (i) => i.row!.overdueAt),
          col(newItems, (i) => i.status),
          col(newItems, (i) => i.doneAt),
          col(newItems, (i) => i.doneBy),
          now,
        ],
      });
    }
    const changedItems = items.filter((i) => i.row === null && i.changed);
    if (changedItems.length > 0) {
      await client.query({
        name: 'batch-update-items',
        text: `UPDATE surveillance_items s
                  SET status = c.status, updated_at = $6,
                      done_at = CASE WHEN c.status = 'done' THEN c.done_at ELSE s.done_at END,
                      done_by = CASE WHEN c.status = 'done' THEN c.done_by ELSE s.done_by END
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
                      AS c(patient_id, item_key, status, done_at, done_by)
                WHERE s.patient_id = c.patient_id AND s.item_key = c.item_key AND s.status = 'planned'`,
        values: [
          col(changedItems, (i) => i.patientId),
          col(changedItems, (i) => i.key),
          col(changedItems, (i) => i.status),
          col(changedItems, (i) => i.doneAt),
          col(changedItems, (i) => i.doneBy),
          now,
        ],
      });
    }

    const jobs = batchOutbox(decided);
    if (jobs.length > 0) {
      await client.query({
        name: 'batch-insert-outbox',
        text: 'INSERT INTO outbox (event_id, jobs, created_at) VALUES ($1, $2, $3)',
        values: [decided[0].event.eventId, JSON.stringify(jobs), now],
      });
    }
    return new Map(inserted.rows.map((r) => [r.event_id, r.seq]));
  }
}

/**
 * One outbox row for the whole batch, and one `tasks-created` job for all the tasks it opened: the notification
 * worker routes them in one transaction (one members query, one update) instead of one job per event. Its id is
 * derived from the batch's events, so a batch applied again after a crash re-publishes under the same id. Timers
 * and care-team alerts keep their own per-task and per-event ids.
 */
function batchOutbox(decided: DecidedEvent[]): OutboxJob[] {
  const jobs: OutboxJob[] = [];
  const created: { eventId: string; tasks: unknown[] }[] = [];
  for (const d of decided) {
    for (const job of d.writes.outbox) {
      if (job.name === 'tasks-created') created.push(job.data as { eventId: string; tasks: unknown[] });
      else jobs.push(job);
    }
  }
  if (created.length === 1)
    jobs.push(...decided.flatMap((d) => d.writes.outbox.filter((j) => j.name === 'tasks-created')));
  else if (created.length > 1) {
    const eventIds = created.map((c) => c.eventId);
    const digest = createHash('sha1').update(eventIds.join('\n')).digest('hex').slice(0, 20);
    jobs.push({
      queue: NOTIFICATIONS_QUEUE,
      name: 'tasks-created',
      jobId: `tasks-created.batch.${digest}`,
      data: { eventIds, tasks: created.flatMap((c) => c.tasks), correlationId: `backfill.${digest}`, backfill: true },
      deliverAt: null,
    });
  }
  return jobs;
}

/** The SQL function's order for "the earliest planned item": due date, then key (the database collates as C). */
function earlier(a: ItemModel, b: ItemModel): boolean {
  const byDue = Date.parse(a.dueAt) - Date.parse(b.dueAt);
  if (byDue !== 0) return byDue < 0;
  return a.key < b.key;
}

/** Raised as a serialization failure: the caller re-reads and decides again, as the one-event door does. */
function conflict(message: string): Error {
  return Object.assign(new Error(`${message}; re-read and re-decide`), { code: '40001' });
}
