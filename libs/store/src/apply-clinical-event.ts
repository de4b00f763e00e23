import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Pool } from 'pg';
import { inTransaction } from './database';
import type { ClinicalEvent } from '@app/contracts';
import { NOTIFICATIONS_QUEUE, TIMERS_QUEUE } from '@app/contracts';
import type { Effect, PatientState, Pathway, Step, SurveillanceItem } from '@app/pathway';

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
  /** The event came in a backfill batch (a late arrival of one): its notification jobs say so (BACKFILL_EMAILS). */
  fromBackfill?: boolean;
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

/** A job for the relay to publish (one outbox row per event carries all of its jobs). */
export interface OutboxJob {
  queue: string;
  name: string;
  /** Deterministic: names the event or task it came from, so a re-publish is ignored by BullMQ. */
  jobId: string;
  data: Record<string, unknown>;
  /** Timers: when the job should fire (null = at once). */
  deliverAt: string | null;
}

// The read half: the patient's state and version, and whether the event is already in the log.
const READ_PATIENT = `
SELECT p.state, p.version, p.last_occurred_at, p.last_event_id,
       EXISTS (SELECT 1 FROM clinical_events WHERE event_id = $2) AS duplicate
  FROM (SELECT 1) one
  LEFT JOIN patients p ON p.patient_id = $1`;

// A patient's events in clinical order: the order that defines the patient's state.
const PATIENT_LOG = `
SELECT envelope FROM clinical_events WHERE patient_id = $1 ORDER BY occurred_at, event_id COLLATE "C"`;

// The write half (migration 002): one atomic statement, optimistic on the version read above.
const APPLY = `SELECT apply_clinical_event(${Array.from({ length: 30 }, (_, i) => `$${i + 1}`).join(', ')}) AS seq`;

// Re-read and re-decide on: the patient moved on since the read (40001), or a deadlock with the sweeper or a
// navigator's action touching the same patient's tasks and items in another order (40P01; PostgreSQL aborted us).
export const RETRYABLE = new Set(['40001', '40P01']);
export const MAX_ATTEMPTS = 20;

/**
 * The connection was lost under the statement (a failover, a restart, pg_terminate_backend): the statement either
 * committed or did nothing, and reading again tells which (a committed event reads as a duplicate). Retried here, a
 * moment later, rather than by the queue's backoff, which would let the patient's next event overtake this one (it
 * would then arrive late: a review task for nothing).
 */
const CONNECTION_LOST_RETRIES = 5;
export function isConnectionLost(err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (/^57P0[1-3]$/.test(code) || /^08/.test(code) || code === 'ECONNRESET')) return true;
  return typeof message === 'string' && /^Connection terminated|not queryable|ECONNREFUSED|ECONNRESET/.test(message);
}

interface PatientRow {
  state: PatientState | null;
  version: number | null;
  last_occurred_at: string | null;
  last_event_id: string | null;
  duplicate: boolean;
}

/** What this process last wrote for a patient: good until another process writes (the version check tells). */
interface KnownPatient {
  state: PatientState;
  version: number;
  last: ClinicalOrderKey | null;
}

/**
 * The pathway's door: one clinical event becomes, atomically, an event-log row, the patient's new state and
 * version, the tasks and surveillance items the rules demand, and the outbox rows for notifications and
 * timers. A duplicate delivery changes nothing.
 *
 * Read the patient, decide in memory, write everything in one statement that succeeds only if the patient's
 * version is still the one read. When another event of the same patient got there first (SQLSTATE 40001) the
 * event is read and decided again, so a patient's events are applied one at a time (invariant 3) without
 * holding a lock while the pathway decides. The state this process last wrote for a patient is kept (LRU), so
 * the next event of that patient skips the read: one round trip. A stale copy costs a retry, never a wrong write.
 */
export class ClinicalEventApplier {
  private readonly known = new Map<string, KnownPatient>();

  constructor(
    private readonly pool: Pool,
    private readonly pathway: Pathway,
    /** Recorded on each event row: which worker instance applied it. */
    private readonly instanceId = `${hostname()}:${process.pid}`,
    /** Patients whose last written state this process keeps (0 turns the cache off). */
    private readonly knownPatientsMax = 20_000,
  ) {}

  async apply(event: ClinicalEvent, options: ApplyOptions): Promise<ApplyOutcome> {
    let lostConnections = 0;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.attempt(event, options);
      } catch (err) {
        this.known.delete(event.patientId);
        if (attempt >= MAX_ATTEMPTS) throw err;
        if (RETRYABLE.has((err as { code?: string }).code ?? '')) continue;
        if (!isConnectionLost(err) || ++lostConnections > CONNECTION_LOST_RETRIES) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100 * lostConnections));
      }
    }
  }

  private async attempt(event: ClinicalEvent, options: ApplyOptions): Promise<ApplyOutcome> {
    const known = this.known.get(event.patientId) ?? (await this.read(event));
    if (known === 'duplicate') return { status: 'duplicate', eventId: event.eventId };
    const { state, version: readVersion, last } = known;
    const late = last !== null && compareClinicalOrder(event, last) < 0;
    const { decision, state: next } = late ? await this.decideLate(event) : this.pathway.step(state, event);
    const newest = late && last ? last : { occurredAt: event.occurredAt, eventId: event.eventId };
    const writes = toWrites(event, decision.effects, options);
    const values = [
      event.eventId,
      event.patientId,
      event.type,
      event.occurredAt,
      event.source,
      event.correlationId ?? null,
      event,
      this.instanceId,
      readVersion,
      late ? 'late' : decision.unexpected ? 'unexpected' : 'applied',
      JSON.stringify(decision.effects.map(asRecorded)),
      JSON.stringify(next),
      next.pathway,
      newest.occurredAt,
      newest.eventId,
      JSON.stringify(writes.closeTasks),
      JSON.stringify(writes.openTasks),
      writes.cancelSurveillance,
      writes.plannedItems.map((i) => i.key),
      writes.plannedItems.map((i) => i.kind),
      writes.plannedItems.map((i) => i.ruleId),
      writes.plannedItems.map((i) => i.modality ?? null),
      writes.plannedItems.map((i) => i.region ?? null),
      writes.plannedItems.map((i) => i.dueAt),
      writes.plannedItems.map((i) => i.overdueAt),
      JSON.stringify(writes.outbox),
      options.now.toISOString(),
      writes.fulfil?.itemKind ?? null,
      writes.fulfil?.doneAt ?? null,
      writes.fulfil?.dueBy ?? null,
    ];
    // Named: PostgreSQL plans it once per connection, not once per event.
    const query = { name: 'apply-clinical-event', text: APPLY, values };
    const written = options.beforeCommit
      ? await this.writeWithSeam(query, options.beforeCommit)
      : await this.pool.query<{ seq: number | null }>(query);
    const seq = written.rows[0].seq;
    if (seq === null) {
      // Already in the log: what this process knows of the patient may be behind.
      this.known.delete(event.patientId);
      return { status: 'duplicate', eventId: event.eventId };
    }
    this.remember(event.patientId, { state: next, version: readVersion + 1, last: newest });
    return {
      status: late ? 'late' : decision.unexpected ? 'unexpected' : 'applied',
      eventId: event.eventId,
      seq,
      patientVersion: readVersion + 1,
      pathway: next.pathway,
      effects: decision.effects,
      taskIds: writes.openTasks.map((t) => t.id),
    };
  }

  private async read(event: ClinicalEvent): Promise<KnownPatient | 'duplicate'> {
    const { rows } = await this.pool.query<PatientRow>({
      name: 'read-patient',
      text: READ_PATIENT,
      values: [event.patientId, event.eventId],
    });
    const row = rows[0];
    if (row.duplicate) return 'duplicate';
    return {
      state: row.state ?? this.pathway.initialState(),
      version: row.version ?? 0,
      last: row.last_occurred_at ? { occurredAt: row.last_occurred_at, eventId: row.last_event_id ?? '' } : null,
    };
  }

  private remember(patientId: string, patient: KnownPatient): void {
    if (this.knownPatientsMax <= 0) return;
    this.known.delete(patientId); // re-inserted last: Map order is the LRU order
    this.known.set(patientId, patient);
    if (this.known.size > this.knownPatientsMax) this.known.delete(this.known.keys().next().value as string);
  }

  /** Test seam (crash injection): the same write inside a transaction, with a hook between it and COMMIT. */
  private async writeWithSeam(
    query: { name: string; text: string; values: unknown[] },
    beforeCommit: () => Promise<void>,
  ) {
    return inTransaction(this.pool, async (client) => {
      const result = await client.query<{ seq: number | null }>(query);
      await beforeCommit();
      return result;
    });
  }

  /**
   * An event that arrived after a clinically later one (two deliveries racing, or a publisher catching up):
   * the patient's state is rebuilt from the log in clinical order, so it ends the same whatever the arrival
   * order; the event's own effects are decided against the state at its clinical position, and a
   * data-quality-review task asks a person to check what the later events already did.
   */
  private async decideLate(event: ClinicalEvent): Promise<Step> {
    const { rows } = await this.pool.query<{ envelope: ClinicalEvent }>({
      name: 'patient-log',
      text: PATIENT_LOG,
      values: [event.patientId],
    });
    const log = [...rows.map((r) => r.envelope), event].sort(compareClinicalOrder);
    let before = this.pathway.initialState();
    let next = before;
    for (const logged of log) {
      if (compareClinicalOrder(logged, event) < 0) before = this.pathway.evolve(before, logged);
      next = this.pathway.evolve(next, logged);
    }
    const { decision } = this.pathway.step(before, event);
    return {
      state: next,
      decision: { ...decision, effects: [...decision.effects, this.pathway.lateArrivalReview(event)] },
    };
  }
}

type WithItems = Extract<Effect, { kind: 'plan-surveillance' | 'extend-surveillance' }>;

/**
 * An effect as the event log keeps it (the timeline): surveillance items are counted, not copied, since they
 * are rows of their own (surveillance_items, keyed to the plan's event) and the log should not carry them twice.
 */
export type RecordedEffect = Exclude<Effect, WithItems> | (Omit<WithItems, 'items'> & { itemCount: number });

export function asRecorded(effect: Effect): RecordedEffect {
  if (effect.kind !== 'plan-surveillance' && effect.kind !== 'extend-surveillance') return effect;
  const { items, ...rest } = effect;
  return { ...rest, itemCount: items.length };
}

/**
 * A task's id, derived from its deterministic key (an RFC 4122 name-based UUID, SHA-1, version 5 layout): the
 * same decision gives the same id on every replay, and the primary key enforces the key's uniqueness.
 */
export function taskIdFor(taskKey: string): string {
  const hash = createHash('sha1').update(`sarcoma-pathway/task/${taskKey}`).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

type ClinicalOrderKey = { occurredAt: string; eventId: string };

/** Clinical order: when it happened, then event id (byte order, as the log's COLLATE "C"), so ties are stable. */
export function compareClinicalOrder(a: ClinicalOrderKey, b: ClinicalOrderKey): number {
  const byTime = Date.parse(a.occurredAt) - Date.parse(b.occurredAt);
  if (byTime !== 0) return byTime;
  return a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0;
}

export type TaskRow = ReturnType<typeof taskRow>;

/** A task the pathway (or the sweeper, for surveillance) opens, as the tasks table's columns. */
export function taskRow(effect: Extract<Effect, { kind: 'open-task' }>) {
  return {
    id: taskIdFor(effect.taskKey),
    task_key: effect.taskKey,
    type: effect.type,
    rule_id: effect.ruleId,
    priority: effect.priority,
    due_at: effect.dueAt,
    reason: effect.reason,
    modality: effect.modality ?? null,
    region: effect.region ?? null,
    escalate: effect.escalate ?? false,
  };
}

/** Turns the pathway's effects into rows. Outbox payloads carry ids and codes only, never patient data (invariant 7). */
export function toWrites(event: ClinicalEvent, effects: Effect[], options: ApplyOptions) {
  const openTasks: TaskRow[] = [];
  const closeTasks: { type: string; outcome: 'completed' | 'cancelled' }[] = [];
  const plannedItems: SurveillanceItem[] = [];
  const outbox: OutboxJob[] = [];
  const created: Record<string, unknown>[] = [];
  let cancelSurveillance = false;
  let fulfil: Extract<Effect, { kind: 'fulfil-surveillance' }> | null = null;
  const correlationId = event.correlationId ?? event.eventId;

  for (const effect of effects) {
    switch (effect.kind) {
      case 'open-task': {
        const row = taskRow(effect);
        const id = row.id;
        openTasks.push(row);
        created.push({
          taskId: id,
          type: effect.type,
          priority: effect.priority,
          ruleId: effect.ruleId,
          dueAt: effect.dueAt,
        });
        if (effect.escalate) {
          for (const step of options.escalation) {
            outbox.push({
              queue: TIMERS_QUEUE,
              name: 'task-escalation',
              jobId: `escalate.${id}.${step.level}`,
              data: { taskId: id, level: step.level, ruleId: effect.ruleId, correlationId },
              deliverAt: new Date(options.now.getTime() + step.afterMs).toISOString(),
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
      case 'extend-surveillance':
        plannedItems.push(...effect.items);
        break;
      case 'fulfil-surveillance':
        fulfil = effect;
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
  // One notification job for all the tasks an event opened: the notification worker announces each.
  if (created.length > 0) {
    outbox.push({
      queue: NOTIFICATIONS_QUEUE,
      name: 'tasks-created',
      jobId: `tasks-created.${event.eventId}`,
      data: { eventId: event.eventId, tasks: created, correlationId },
      deliverAt: null,
    });
  }
  outbox.push(...alertJobs(event.eventId, correlationId, effects));
  return {
    openTasks,
    closeTasks,
    plannedItems,
    outbox: options.fromBackfill ? outbox.map(fromBackfill) : outbox,
    cancelSurveillance,
    fulfil,
  };
}

/** A notification job marked as coming from a backfill: BACKFILL_EMAILS decides which of its emails go out. */
export function fromBackfill(job: OutboxJob): OutboxJob {
  return job.queue === NOTIFICATIONS_QUEUE ? { ...job, data: { ...(job.data as object), backfill: true } } : job;
}

/**
 * The pathway's notifications of one event (care-team alerts: R-LR-ESCALATE step 3, R-DM) as notifications jobs,
 * naming the tasks the event opened. From the decision, or from the effects the event log recorded: the same jobs,
 * under the same ids, so the sweeper can ask for them again when Redis lost them.
 */
export function alertJobs(eventId: string, correlationId: string, effects: readonly (Effect | RecordedEffect)[]) {
  const opened = new Map<string, string>();
  for (const effect of effects) if (effect.kind === 'open-task') opened.set(effect.taskKey, taskIdFor(effect.taskKey));
  const jobs: OutboxJob[] = [];
  effects.forEach((effect, index) => {
    if (effect.kind !== 'notify') return;
    jobs.push({
      queue: NOTIFICATIONS_QUEUE,
      name: effect.template,
      jobId: `notify.${eventId}.${index}`,
      data: {
        template: effect.template,
        audience: effect.audience,
        priority: effect.priority,
        ruleId: effect.ruleId,
        taskIds: effect.taskKeys.map((key) => opened.get(key)).filter((id): id is string => !!id),
        correlationId,
      },
      deliverAt: null,
    });
  });
  return jobs;
}
