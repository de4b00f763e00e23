import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Pool, PoolClient } from 'pg';
import type { ClinicalEvent } from '@app/contracts';
import { NOTIFICATIONS_QUEUE, TIMERS_QUEUE } from '@app/contracts';
import type { Effect, PatientState, Pathway, Step } from '@app/pathway';

/** SLA steps for tasks marked `escalate` (R-LR-ESCALATE step 5): who is told, and after how long unaccepted. */
export interface EscalationStep {
  level: 'navigator-lead' | 'clinical-lead';
  afterMs: number;
}

export interface ApplyOptions {
  now: Date;
  escalation: EscalationStep[];
  /** Test seam: runs after every write and before COMMIT (crash injection for invariant 2). */
  beforeCommit?: () => Promise<void>;
}

export type ApplyOutcome =
  | { status: 'duplicate'; eventId: string }
  | {
      /** `late`: arrived after an event that happened after it; the state was rebuilt in clinical order. */
      status: 'applied' | 'unexpected' | 'late';
      eventId: string;
      seq: number;
      patientVersion: number;
      pathway: string;
      effects: Effect[];
      taskIds: string[];
    };

interface OutboxRow {
  queue: string;
  job_name: string;
  job_id: string;
  payload: unknown;
  deliver_at: string | null;
}

// Statement 1: record the event (a duplicate id stops here) and lock the patient row, creating it if new.
// ON CONFLICT DO UPDATE takes the row lock, so one event per patient is in flight at a time (invariant 3).
const RECORD_AND_LOCK = `
WITH recorded AS (
  INSERT INTO clinical_events (event_id, patient_id, type, occurred_at, source, correlation_id, envelope, applied_by)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $10)
  ON CONFLICT (event_id) DO NOTHING
  RETURNING seq
)
INSERT INTO patients (patient_id, pathway, state) VALUES ($2, $8, $9)
ON CONFLICT (patient_id) DO UPDATE SET patient_id = EXCLUDED.patient_id
RETURNING state, version, last_occurred_at, last_event_id, (SELECT seq FROM recorded) AS seq`;

// A patient's events in clinical order: the order that defines the patient's state.
const PATIENT_LOG = `
SELECT envelope FROM clinical_events WHERE patient_id = $1 ORDER BY occurred_at, event_id COLLATE "C"`;

// Statement 2: everything the decision changes, in one round trip (invariant 2 holds through the transaction).
const WRITE_DECISION = `
WITH
event_row AS (
  UPDATE clinical_events SET outcome = $2, effects = $3::jsonb, patient_version = $4 WHERE event_id = $1
),
patient_row AS (
  UPDATE patients SET state = $5::jsonb, pathway = $6, version = $4, updated_at = $12,
         last_occurred_at = $14, last_event_id = $15
  WHERE patient_id = $7
),
closed_tasks AS (
  UPDATE tasks SET status = c.outcome, closed_at = $12, updated_at = $12, closed_by_event_id = $1
  FROM jsonb_to_recordset($8::jsonb) AS c(type text, outcome text)
  WHERE tasks.patient_id = $7 AND tasks.type = c.type AND tasks.status NOT IN ('completed', 'cancelled', 'rejected')
),
opened_tasks AS (
  INSERT INTO tasks (id, task_key, patient_id, event_id, type, rule_id, priority, due_at, reason, modality, region, escalate, created_at, updated_at)
  SELECT t.id, t.task_key, $7, $1, t.type, t.rule_id, t.priority, t.due_at, t.reason, t.modality, t.region, t.escalate, $12, $12
  FROM jsonb_to_recordset($9::jsonb) AS t(id uuid, task_key text, type text, rule_id text, priority text, due_at timestamptz,
                                          reason text, modality text, region text, escalate boolean)
  ON CONFLICT (task_key) DO NOTHING
),
cancelled_items AS (
  UPDATE surveillance_items SET status = 'cancelled', updated_at = $12
  WHERE $10::boolean AND patient_id = $7 AND status = 'planned'
),
planned_items AS (
  INSERT INTO surveillance_items (item_key, patient_id, plan_event_id, kind, rule_id, modality, region, due_at, overdue_at, created_at, updated_at)
  SELECT i.key, $7, $1, i.kind, i."ruleId", i.modality, i.region, i."dueAt", i."overdueAt", $12, $12
  FROM jsonb_to_recordset($11::jsonb) AS i(key text, kind text, "ruleId" text, modality text, region text, "dueAt" timestamptz, "overdueAt" timestamptz)
  ON CONFLICT (item_key) DO NOTHING
),
outbox_rows AS (
  INSERT INTO outbox (queue, job_name, job_id, payload, deliver_at, created_at)
  SELECT o.queue, o.job_name, o.job_id, o.payload, o.deliver_at, $12
  FROM jsonb_to_recordset($13::jsonb) AS o(queue text, job_name text, job_id text, payload jsonb, deliver_at timestamptz)
  ON CONFLICT (job_id) DO NOTHING
)
SELECT 1`;

/**
 * The pathway's door: one clinical event becomes, in one PostgreSQL transaction, an event-log row, the
 * patient's new state and version, the tasks and surveillance items the rules demand, and the outbox rows
 * for notifications and timers. A duplicate delivery changes nothing.
 */
export class ClinicalEventApplier {
  constructor(
    private readonly pool: Pool,
    private readonly pathway: Pathway,
    /** Recorded on each event row: which worker instance applied it. */
    private readonly instanceId = `${hostname()}:${process.pid}`,
  ) {}

  async apply(event: ClinicalEvent, options: ApplyOptions): Promise<ApplyOutcome> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const outcome = await this.applyInTransaction(client, event, options);
      if (outcome.status === 'duplicate') {
        await client.query('ROLLBACK');
        return outcome;
      }
      if (options.beforeCommit) await options.beforeCommit();
      await client.query('COMMIT');
      return outcome;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * An event that arrived after a later one (two deliveries racing, or a publisher catching up): the
   * patient's state is rebuilt from the log in clinical order, so it ends the same whatever the arrival
   * order; the event's own effects are decided against the state at its clinical position, and a
   * data-quality-review task asks a person to check what the later events already did.
   */
  private async decideLate(client: PoolClient, event: ClinicalEvent): Promise<Step> {
    const { rows } = await client.query<{ envelope: ClinicalEvent }>(PATIENT_LOG, [event.patientId]);
    let before = this.pathway.initialState();
    let next = before;
    for (const { envelope } of rows) {
      if (compareClinicalOrder(envelope, event) < 0) before = this.pathway.evolve(before, envelope);
      next = this.pathway.evolve(next, envelope);
    }
    const { decision } = this.pathway.step(before, event);
    return {
      state: next,
      decision: { ...decision, effects: [...decision.effects, this.pathway.lateArrivalReview(event)] },
    };
  }

  private async applyInTransaction(
    client: PoolClient,
    event: ClinicalEvent,
    options: ApplyOptions,
  ): Promise<ApplyOutcome> {
    const initial = this.pathway.initialState();
    const locked = await client.query<{
      state: PatientState;
      version: number;
      last_occurred_at: string | null;
      last_event_id: string | null;
      seq: number | null;
    }>(RECORD_AND_LOCK, [
      event.eventId,
      event.patientId,
      event.type,
      event.occurredAt,
      event.source,
      event.correlationId ?? null,
      event,
      initial.pathway,
      initial,
      this.instanceId,
    ]);
    const row = locked.rows[0];
    if (row.seq === null) return { status: 'duplicate', eventId: event.eventId };

    const last = row.last_occurred_at ? { occurredAt: row.last_occurred_at, eventId: row.last_event_id ?? '' } : null;
    const late = last !== null && compareClinicalOrder(event, last) < 0;
    const { decision, state: next } = late ? await this.decideLate(client, event) : this.pathway.step(row.state, event);
    const newest = late && last ? last : { occurredAt: event.occurredAt, eventId: event.eventId };
    const version = row.version + 1;
    const nowIso = options.now.toISOString();
    const writes = toWrites(event, decision.effects, options);

    await client.query(WRITE_DECISION, [
      event.eventId,
      late ? 'late' : decision.unexpected ? 'unexpected' : 'applied',
      JSON.stringify(decision.effects),
      version,
      JSON.stringify(next),
      next.pathway,
      event.patientId,
      JSON.stringify(writes.closeTasks),
      JSON.stringify(writes.openTasks),
      writes.cancelSurveillance,
      JSON.stringify(writes.plannedItems),
      nowIso,
      JSON.stringify(writes.outbox),
      newest.occurredAt,
      newest.eventId,
    ]);
    return {
      status: late ? 'late' : decision.unexpected ? 'unexpected' : 'applied',
      eventId: event.eventId,
      seq: row.seq,
      patientVersion: version,
      pathway: next.pathway,
      effects: decision.effects,
      taskIds: writes.openTasks.map((t) => t.id),
    };
  }
}

type ClinicalOrderKey = { occurredAt: string; eventId: string };

/** Clinical order: when it happened, then event id (byte order, as the log's COLLATE "C"), so ties are stable. */
export function compareClinicalOrder(a: ClinicalOrderKey, b: ClinicalOrderKey): number {
  const byTime = Date.parse(a.occurredAt) - Date.parse(b.occurredAt);
  if (byTime !== 0) return byTime;
  return a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0;
}

/** Turns the pathway's effects into rows. Outbox payloads carry ids and codes only, never patient data (invariant 7). */
function toWrites(event: ClinicalEvent, effects: Effect[], options: ApplyOptions) {
  const taskIdByKey = new Map<string, string>();
  const openTasks: {
    id: string;
    task_key: string;
    type: string;
    rule_id: string;
    priority: string;
    due_at: string;
    reason: string;
    modality: string | null;
    region: string | null;
    escalate: boolean;
  }[] = [];
  const closeTasks: { type: string; outcome: string }[] = [];
  const plannedItems: unknown[] = [];
  const outbox: OutboxRow[] = [];
  let cancelSurveillance = false;
  const correlationId = event.correlationId ?? event.eventId;

  for (const effect of effects) {
    switch (effect.kind) {
      case 'open-task': {
        const id = randomUUID();
        taskIdByKey.set(effect.taskKey, id);
        openTasks.push({
          id,
          task_key: effect.taskKey,
          type: effect.type,
          rule_id: effect.ruleId,
          priority: effect.priority,
          due_at: effect.dueAt,
          reason: effect.reason,
          modality: effect.modality ?? null,
          region: effect.region ?? null,
          escalate: effect.escalate ?? false,
        });
        outbox.push({
          queue: NOTIFICATIONS_QUEUE,
          job_name: 'task-created',
          job_id: `task-created.${id}`,
          payload: {
            taskId: id,
            type: effect.type,
            priority: effect.priority,
            ruleId: effect.ruleId,
            dueAt: effect.dueAt,
            correlationId,
          },
          deliver_at: null,
        });
        if (effect.escalate) {
          for (const step of options.escalation) {
            outbox.push({
              queue: TIMERS_QUEUE,
              job_name: 'task-escalation',
              job_id: `escalate.${id}.${step.level}`,
              payload: { taskId: id, level: step.level, ruleId: effect.ruleId, correlationId },
              deliver_at: new Date(options.now.getTime() + step.afterMs).toISOString(),
            });
          }
        }
        break;
      }
      case 'close-tasks':
        for (const type of effect.types) closeTasks.push({ type, outcome: effect.outcome });
        break;
      case 'cancel-surveillance':
        cancelSurveillance = true;
        break;
      case 'plan-surveillance':
        // A new plan replaces the old one (entering surveillance again, or the intensified plan on recurrence).
        cancelSurveillance = true;
        plannedItems.push(...effect.items);
        break;
      default:
        break;
    }
  }
  effects.forEach((effect, index) => {
    if (effect.kind !== 'notify') return;
    outbox.push({
      queue: NOTIFICATIONS_QUEUE,
      job_name: effect.template,
      job_id: `notify.${event.eventId}.${index}`,
      payload: {
        template: effect.template,
        audience: effect.audience,
        priority: effect.priority,
        ruleId: effect.ruleId,
        taskIds: effect.taskKeys.map((key) => taskIdByKey.get(key)).filter((id): id is string => !!id),
        correlationId,
      },
      deliver_at: null,
    });
  });
  return { openTasks, closeTasks, plannedItems, outbox, cancelSurveillance };
}
