/**
 * The soft-tissue sarcoma care pathway, in one file: the patient state, the transition table, and what
 * each transition does. Pure: no I/O, no clock. A patient's state is `events.reduce(evolve, initialState())`
 * in clinical order; `decide` names the effects (tasks, surveillance, notifications) each event causes, every
 * one tagged with the rule (rules.ts) that demands it.
 */
import type {
  ClinicalEvent,
  EventType,
  ImagingModality,
  ImagingRegion,
  Margin,
  PathologyReportedPayload,
} from '@app/contracts';
import { DEFAULT_PATHWAY_CONFIG, type PathwayConfig, type TaskTiming } from './config';
import { addDays, toIso } from './dates';
import {
  PATHWAY_STATES,
  TASK_TYPES,
  type Decision,
  type Effect,
  type PathwayStateName,
  type RiskProfile,
  type RuleId,
  type TaskType,
} from './model';
import { isHighRisk, riskProfile, surveillanceSchedule } from './risk';
import { itemsDueBetween, materializationHorizon, surveillanceFulfilment, surveillancePlan } from './surveillance';

// ---------------------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------------------

export interface PathologyResult extends PathologyReportedPayload {
  eventId: string;
  reportedAt: string;
  /** Event ids of earlier versions this result superseded (R-CORRECTED-REPORT audit link). */
  supersedes: string[];
}

export interface PatientState {
  pathway: PathwayStateName;
  registered: boolean;
  primarySite: string | null;
  careTeam: string | null;
  /** The effective result of each pathology report (a correction replaces the earlier version). */
  reports: Record<string, PathologyResult>;
  /** Report id of the result the pathway currently acts on. */
  currentReportId: string | null;
  unplannedExcision: boolean;
  anyPositiveMargin: boolean;
  /** Why a re-excision review is open, or null: closed by an MDT decision (R-MDT-DECISION). */
  reExcisionReview: null | 'margin' | 'unplanned-excision';
  radiotherapy: 'none' | 'evaluation' | 'planned' | 'declined' | 'completed';
  localRecurrences: number;
  /**
   * The plan in force. Its items are derived (surveillancePlan) and kept by the store as rows, to be marked
   * done or overdue; the state stays small because it is read and written with every event.
   */
  surveillance: null | {
    anchorEventId: string;
    anchorAt: string;
    schedule: 'high-grade' | 'low-grade';
    ruleId: RuleId;
    /** Items due up to here are written (`materializeMonthsAhead`); the horizon moves on with each event. */
    materializedUntil: string;
  };
  /** Latest clinical time seen. */
  lastOccurredAt: string | null;
  /** Every event applied, fitting or not: nothing is dropped. */
  eventCount: number;
  unexpectedEventCount: number;
}

export function initialState(): PatientState {
  return {
    pathway: 'awaiting-surgery',
    registered: false,
    primarySite: null,
    careTeam: null,
    reports: {},
    currentReportId: null,
    unplannedExcision: false,
    anyPositiveMargin: false,
    reExcisionReview: null,
    radiotherapy: 'none',
    localRecurrences: 0,
    surveillance: null,
    lastOccurredAt: null,
    eventCount: 0,
    unexpectedEventCount: 0,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The transition table
// ---------------------------------------------------------------------------------------------------------

type Ctx = {
  state: PatientState;
  event: ClinicalEvent;
  config: PathwayConfig;
  /** Worked out once per event (guards, updates and effects all ask): see recordResult and withResult. */
  recorded?: Partial<PatientState>;
  withResult?: PatientState;
};
type EventOf<T extends EventType> = Extract<ClinicalEvent, { type: T }>;

export interface TransitionDefinition {
  from: readonly PathwayStateName[];
  on: EventType;
  /** The condition, in words (shown in the diagram). */
  when?: string;
  /** The next state; absent when the event is expected here and the patient stays where they are. */
  to?: PathwayStateName;
  ruleId: RuleId;
}

interface Transition<T extends EventType = EventType> extends TransitionDefinition {
  on: T;
  guard?: (ctx: Ctx & { event: EventOf<T> }) => boolean;
  /** The state change beyond the pathway name. */
  update?: (ctx: Ctx & { event: EventOf<T> }) => Partial<PatientState>;
  effects?: (ctx: Ctx & { event: EventOf<T> }) => Effect[];
}

const OPEN: readonly PathwayStateName[] = PATHWAY_STATES.filter((s) => s !== 'closed');
const BEFORE_METASTASIS = OPEN.filter((s) => s !== 'metastatic');
const TREATING: readonly PathwayStateName[] = ['awaiting-pathology', 're-excision-review', 'local-recurrence'];

function t<T extends EventType>(transition: Transition<T>): Transition {
  return transition as unknown as Transition;
}

const isLocalRecurrence = ({ event }: Ctx) =>
  (event.type === 'recurrence.detected' && event.payload.kind === 'local') ||
  (event.type === 'imaging.reported' && event.payload.finding === 'local-recurrence');
/** The recurrence has been escalated and its treatment is not finished (no post-treatment plan yet). */
const recurrenceUnderTreatment = (state: PatientState) =>
  state.pathway === 'local-recurrence' || state.surveillance?.ruleId === 'R-LR-ESCALATE';
const isDistant = ({ event }: Ctx) =>
  (event.type === 'recurrence.detected' && event.payload.kind === 'distant') ||
  (event.type === 'imaging.reported' && event.payload.finding === 'distant-metastasis');

/** R-MARGIN-R1 / R-MARGIN-R2: a new result with a positive margin. */
function positiveMargin(margin: 'R1' | 'R2'): Transition {
  const ruleId = `R-MARGIN-${margin}`;
  return t({
    from: TREATING,
    on: 'pathology.reported',
    when: `${margin} margin`,
    to: 're-excision-review',
    ruleId,
    guard: ({ state, event }) => isNewReport(state, event) && event.payload.margin === margin,
    update: (ctx) => ({ ...recordResult(ctx), reExcisionReview: 'margin', surveillance: null }),
    effects: (ctx) => [
      ...newDiagnosisMdt(ctx),
      ...positiveMarginTasks(ctx.event, ctx.config),
      ...cancelPlan(ctx.state, ruleId),
    ],
  });
}

/**
 * Read top to bottom: the first row whose `from`, `on` and guard match is taken. An event that matches no
 * row does not fit the state: it is recorded and opens a data-quality-review task (R-UNEXPECTED).
 */
const TRANSITIONS: Transition[] = [
  // Registration. A new patient starts in awaiting-surgery; a late registration (events already recorded, the
  // first of them flagged R-UNEXPECTED) completes the record wherever the pathway has got to.
  t({
    from: OPEN,
    on: 'patient.registered',
    when: 'first registration (or a late one)',
    ruleId: 'R-PATH-ENTRY',
    guard: ({ state }) => !state.registered,
    update: ({ event }) => ({
      registered: true,
      primarySite: event.payload.primarySite,
      careTeam: event.payload.careTeam ?? null,
    }),
  }),

  // Surgery
  t({
    from: ['awaiting-surgery', 're-excision-review', 'local-recurrence'],
    on: 'surgery.performed',
    when: 'unplanned excision',
    to: 're-excision-review',
    ruleId: 'R-UNPLANNED',
    guard: ({ event }) => event.payload.procedure === 'unplanned-excision',
    update: () => ({ unplannedExcision: true, reExcisionReview: 'unplanned-excision' }),
    effects: ({ event, config }) => unplannedExcisionTasks(event, config),
  }),
  t({
    from: ['awaiting-surgery', 're-excision-review', 'local-recurrence'],
    on: 'surgery.performed',
    when: 'planned resection',
    to: 'awaiting-pathology',
    ruleId: 'R-PATH-SURGERY',
    guard: ({ event }) => event.payload.procedure !== 'unplanned-excision',
    update: () => ({ reExcisionReview: null }),
    effects: ({ state }) => closeReExcisionReview(state, 'completed', 're-excision performed'),
  }),
  t({
    from: ['awaiting-surgery'],
    on: 'radiotherapy.completed',
    when: 'neoadjuvant (recorded: no later R-RT-EVAL)',
    ruleId: 'R-RT-EVAL',
    guard: ({ event }) => event.payload.setting === 'neoadjuvant',
    update: () => ({ radiotherapy: 'completed' }),
  }),

  // Pathology (first result or a new report after surgery)
  positiveMargin('R2'),
  positiveMargin('R1'),
  t({
    from: TREATING,
    on: 'pathology.reported',
    when: 'R0, re-excision review still open (unplanned excision)',
    to: 're-excision-review',
    ruleId: 'R-UNPLANNED',
    guard: ({ state, event }) => isNewReport(state, event) && state.reExcisionReview === 'unplanned-excision',
    update: recordResult,
    effects: newDiagnosisMdt,
  }),
  t({
    from: TREATING,
    on: 'pathology.reported',
    when: 'R0, high-risk, no radiotherapy recorded',
    to: 'adjuvant-evaluation',
    ruleId: 'R-RT-EVAL',
    guard: (ctx) => isNewReport(ctx.state, ctx.event) && needsRadiotherapyEvaluation(ctx.state, withResult(ctx)),
    update: (ctx) => ({ ...recordResult(ctx), reExcisionReview: null, radiotherapy: 'evaluation' }),
    effects: (ctx) => [
      ...newDiagnosisMdt(ctx),
      radiotherapyEvaluationTask(
        ctx.event,
        ctx.config,
        'R-RT-EVAL',
        'high-risk tumour (grade 2–3, deep, > 5 cm) with no radiotherapy recorded',
      ),
    ],
  }),
  t({
    from: TREATING,
    on: 'pathology.reported',
    when: 'R0, radiotherapy already under evaluation or planned',
    to: 'adjuvant-evaluation',
    ruleId: 'R-RT-EVAL',
    guard: ({ state, event }) =>
      isNewReport(state, event) && (state.radiotherapy === 'evaluation' || state.radiotherapy === 'planned'),
    update: (ctx) => ({ ...recordResult(ctx), reExcisionReview: null }),
    effects: newDiagnosisMdt,
  }),
  t({
    from: TREATING,
    on: 'pathology.reported',
    when: 'R0: definitive treatment complete',
    to: 'surveillance',
    ruleId: 'R-SURV-START',
    guard: ({ state, event }) => isNewReport(state, event),
    update: (ctx) => ({
      ...recordResult(ctx),
      reExcisionReview: null,
      surveillance: planFor(ctx, withResult(ctx)).state,
    }),
    effects: (ctx) => [...newDiagnosisMdt(ctx), planFor(ctx, withResult(ctx)).effect],
  }),

  // Corrected pathology report (R-CORRECTED-REPORT): supersedes the earlier result and re-runs the rules.
  // While the specimen of a later operation is awaited, its own result decides what comes next: a correction of
  // the earlier report is recorded (and so counts for the risk profile and the schedule) without moving on.
  t({
    from: ['awaiting-pathology'],
    on: 'pathology.reported',
    when: 'corrected earlier report, the new specimen awaited',
    ruleId: 'R-CORRECTED-REPORT',
    guard: ({ state, event }) => isCorrectionOfCurrent(state, event),
    update: recordResult,
    effects: (ctx) => [supersede(ctx)],
  }),
  t({
    from: ['re-excision-review', 'adjuvant-evaluation', 'surveillance'],
    on: 'pathology.reported',
    when: 'corrected report: margin now R1/R2',
    to: 're-excision-review',
    ruleId: 'R-CORRECTED-REPORT',
    guard: ({ state, event }) => isCorrectionOfCurrent(state, event) && event.payload.margin !== 'R0',
    update: (ctx) => ({
      ...recordResult(ctx),
      reExcisionReview: ctx.state.reExcisionReview ?? 'margin',
      surveillance: null,
    }),
    effects: (ctx) => [
      supersede(ctx),
      ...(ctx.state.reExcisionReview ? [] : positiveMarginTasks(ctx.event, ctx.config)),
      ...cancelPlan(ctx.state, 'R-CORRECTED-REPORT'),
    ],
  }),
  t({
    from: ['re-excision-review'],
    on: 'pathology.reported',
    when: 'corrected report: margin now R0, unplanned excision still under review',
    to: 're-excision-review',
    ruleId: 'R-CORRECTED-REPORT',
    guard: ({ state, event }) => isCorrectionOfCurrent(state, event) && state.reExcisionReview === 'unplanned-excision',
    update: recordResult,
    effects: (ctx) => [supersede(ctx)],
  }),
  t({
    from: ['re-excision-review', 'adjuvant-evaluation', 'surveillance'],
    on: 'pathology.reported',
    when: 'corrected report: R0, radiotherapy needed',
    to: 'adjuvant-evaluation',
    ruleId: 'R-CORRECTED-REPORT',
    guard: (ctx) =>
      isCorrectionOfCurrent(ctx.state, ctx.event) &&
      (ctx.state.radiotherapy === 'evaluation' ||
        ctx.state.radiotherapy === 'planned' ||
        needsRadiotherapyEvaluation(ctx.state, withResult(ctx))),
    update: (ctx) => ({
      ...recordResult(ctx),
      reExcisionReview: null,
      surveillance: null,
      radiotherapy: ctx.state.radiotherapy === 'none' ? 'evaluation' : ctx.state.radiotherapy,
    }),
    effects: (ctx) => [
      supersede(ctx),
      ...closeReExcisionReview(ctx.state, 'cancelled', 'superseded by a corrected report with an R0 margin'),
      ...cancelPlan(ctx.state, 'R-CORRECTED-REPORT'),
      ...(ctx.state.radiotherapy === 'none'
        ? [radiotherapyEvaluationTask(ctx.event, ctx.config, 'R-RT-EVAL', 'high-risk tumour on the corrected report')]
        : []),
    ],
  }),
  t({
    from: ['re-excision-review', 'adjuvant-evaluation', 'surveillance'],
    on: 'pathology.reported',
    when: 'corrected report: R0',
    to: 'surveillance',
    ruleId: 'R-CORRECTED-REPORT',
    guard: ({ state, event }) => isCorrectionOfCurrent(state, event),
    update: (ctx) => ({
      ...recordResult(ctx),
      reExcisionReview: null,
      surveillance: continuedPlan(ctx, withResult(ctx)).state,
    }),
    effects: (ctx) => [
      supersede(ctx),
      ...closeReExcisionReview(ctx.state, 'cancelled', 'superseded by a corrected report with an R0 margin'),
      ...continuedPlan(ctx, withResult(ctx)).effects,
    ],
  }),

  // MDT decisions (R-MDT-DECISION)
  t({
    from: ['re-excision-review', 'adjuvant-evaluation', 'local-recurrence'],
    on: 'mdt.decision',
    when: 're-excise',
    to: 'awaiting-surgery',
    ruleId: 'R-MDT-DECISION',
    guard: ({ event }) => event.payload.decision === 're-excise',
    update: () => ({ reExcisionReview: null }),
    // After a local recurrence the intensified plan runs on until the new treatment's plan replaces it: no gap.
    effects: ({ state }) => closeReExcisionReview(state, 'completed', 'MDT decided to re-excise'),
  }),
  t({
    from: ['re-excision-review'],
    on: 'mdt.decision',
    when: 'no-re-excision, radiotherapy to evaluate',
    to: 'adjuvant-evaluation',
    ruleId: 'R-RT-EVAL',
    guard: (ctx) => ctx.event.payload.decision === 'no-re-excision' && radiotherapyAfterNoReExcision(ctx) !== null,
    update: () => ({ reExcisionReview: null, radiotherapy: 'evaluation' }),
    effects: (ctx) => [
      ...closeReExcisionReview(ctx.state, 'completed', 'MDT decided against re-excision'),
      radiotherapyEvaluationTask(
        ctx.event,
        ctx.config,
        radiotherapyAfterNoReExcision(ctx)!,
        'MDT decided against re-excision',
      ),
    ],
  }),
  t({
    from: ['re-excision-review'],
    on: 'mdt.decision',
    when: 'no-re-excision',
    to: 'surveillance',
    ruleId: 'R-SURV-START',
    guard: ({ event }) => event.payload.decision === 'no-re-excision',
    update: (ctx) => ({ reExcisionReview: null, surveillance: planFor(ctx, ctx.state).state }),
    effects: (ctx) => [
      ...closeReExcisionReview(ctx.state, 'completed', 'MDT decided against re-excision'),
      planFor(ctx, ctx.state).effect,
    ],
  }),
  t({
    from: ['re-excision-review', 'adjuvant-evaluation', 'local-recurrence'],
    on: 'mdt.decision',
    when: 'radiotherapy',
    to: 'adjuvant-evaluation',
    ruleId: 'R-MDT-DECISION',
    guard: ({ event }) => event.payload.decision === 'radiotherapy',
    update: () => ({ reExcisionReview: null, radiotherapy: 'planned' }),
    effects: ({ state }) => [
      ...closeReExcisionReview(state, 'completed', 'MDT decided on radiotherapy'),
      closeTasks(['radiotherapy-evaluation'], 'completed', 'R-RT-EVAL', 'MDT decided on radiotherapy'),
    ],
  }),
  t({
    from: ['re-excision-review', 'adjuvant-evaluation', 'local-recurrence'],
    on: 'mdt.decision',
    when: 'no-radiotherapy or surveillance',
    to: 'surveillance',
    ruleId: 'R-SURV-START',
    guard: ({ event }) => event.payload.decision === 'no-radiotherapy' || event.payload.decision === 'surveillance',
    update: (ctx) => ({
      reExcisionReview: null,
      radiotherapy: ctx.state.radiotherapy === 'completed' ? 'completed' : 'declined',
      surveillance: planFor(ctx, ctx.state).state,
    }),
    effects: (ctx) => [
      ...closeReExcisionReview(ctx.state, 'completed', `MDT decided: ${ctx.event.payload.decision}`),
      closeTasks(['radiotherapy-evaluation'], 'completed', 'R-RT-EVAL', `MDT decided: ${ctx.event.payload.decision}`),
      planFor(ctx, ctx.state).effect,
    ],
  }),
  t({
    from: ['surveillance'],
    on: 'mdt.decision',
    when: 'surveillance (confirmed)',
    ruleId: 'R-MDT-DECISION',
    guard: ({ event }) => event.payload.decision === 'surveillance',
  }),
  t({ from: ['metastatic'], on: 'mdt.decision', when: 'any (oncology-led care)', ruleId: 'R-DM' }),

  // Radiotherapy
  t({
    from: ['adjuvant-evaluation', 're-excision-review'],
    on: 'radiotherapy.completed',
    when: 'adjuvant',
    to: 'surveillance',
    ruleId: 'R-SURV-START',
    guard: ({ event }) => event.payload.setting === 'adjuvant',
    update: (ctx) => ({
      radiotherapy: 'completed',
      reExcisionReview: null,
      surveillance: planFor(ctx, ctx.state, ctx.event.payload.completedAt).state,
    }),
    effects: (ctx) => [
      closeTasks(['radiotherapy-evaluation'], 'completed', 'R-RT-EVAL', 'radiotherapy completed'),
      ...closeReExcisionReview(ctx.state, 'completed', 'radiotherapy completed instead'),
      planFor(ctx, ctx.state, ctx.event.payload.completedAt).effect,
    ],
  }),
  t({
    from: ['local-recurrence'],
    on: 'radiotherapy.completed',
    when: 'treatment of the recurrence',
    ruleId: 'R-LR-ESCALATE',
    update: () => ({ radiotherapy: 'completed' }),
  }),
  t({ from: ['metastatic'], on: 'radiotherapy.completed', when: 'palliative or metastatic setting', ruleId: 'R-DM' }),

  // Recurrence and metastasis (from any open state before metastasis). A local recurrence already escalated and
  // still under treatment (the intensified plan in force) is not escalated again: the MRI the escalation ordered
  // will itself report "local recurrence".
  t({
    from: BEFORE_METASTASIS,
    on: 'recurrence.detected',
    when: 'local, already escalated and under treatment',
    ruleId: 'R-LR-ESCALATE',
    guard: (ctx) => isLocalRecurrence(ctx) && recurrenceUnderTreatment(ctx.state),
  }),
  t({
    from: BEFORE_METASTASIS,
    on: 'imaging.reported',
    when: 'finding: local recurrence, already escalated and under treatment',
    ruleId: 'R-LR-ESCALATE',
    guard: (ctx) => isLocalRecurrence(ctx) && recurrenceUnderTreatment(ctx.state),
  }),
  t({
    from: BEFORE_METASTASIS,
    on: 'recurrence.detected',
    when: 'local',
    to: 'local-recurrence',
    ruleId: 'R-LR-ESCALATE',
    guard: isLocalRecurrence,
    update: localRecurrenceUpdate,
    effects: localRecurrenceEffects,
  }),
  t({
    from: BEFORE_METASTASIS,
    on: 'imaging.reported',
    when: 'finding: local recurrence',
    to: 'local-recurrence',
    ruleId: 'R-LR-ESCALATE',
    guard: isLocalRecurrence,
    update: localRecurrenceUpdate,
    effects: localRecurrenceEffects,
  }),
  t({
    from: BEFORE_METASTASIS,
    on: 'recurrence.detected',
    when: 'distant',
    to: 'metastatic',
    ruleId: 'R-DM',
    guard: isDistant,
    update: () => ({ surveillance: null, reExcisionReview: null }),
    effects: distantMetastasisEffects,
  }),
  t({
    from: BEFORE_METASTASIS,
    on: 'imaging.reported',
    when: 'finding: distant metastasis',
    to: 'metastatic',
    ruleId: 'R-DM',
    guard: isDistant,
    update: () => ({ surveillance: null, reExcisionReview: null }),
    effects: distantMetastasisEffects,
  }),
  t({ from: ['metastatic'], on: 'recurrence.detected', when: 'further progression', ruleId: 'R-DM' }),
  t({ from: ['metastatic'], on: 'imaging.reported', when: 'any finding (oncology-led care)', ruleId: 'R-DM' }),

  // Follow-up events
  t({
    from: OPEN,
    on: 'imaging.reported',
    when: 'suspicious finding',
    ruleId: 'R-IMAGING-SUSPICIOUS',
    guard: ({ event }) => event.payload.finding === 'suspicious',
    effects: ({ event, config }) => [
      task(
        event,
        'mdt-review',
        'R-IMAGING-SUSPICIOUS',
        config.tasks.suspiciousImaging,
        `suspicious ${event.payload.modality} of ${event.payload.region}: MDT review (R-IMAGING-SUSPICIOUS)`,
      ),
    ],
  }),
  t({
    from: OPEN,
    on: 'imaging.reported',
    when: 'no evidence of disease',
    ruleId: 'R-SURV-START',
    guard: ({ event }) => event.payload.finding === 'no-evidence-of-disease',
  }),
  t({ from: OPEN, on: 'clinic.visited', when: 'follow-up visit', ruleId: 'R-SURV-START' }),

  // A report received but not coded enough to act on: a person abstracts it; the pathway waits for the result.
  t<'pathology.unstructured'>({
    from: OPEN,
    on: 'pathology.unstructured',
    when: 'items not coded',
    ruleId: 'R-PATH-ABSTRACTION',
    effects: ({ event, config }) => [
      dataQualityReviewTask(
        event,
        'R-PATH-ABSTRACTION',
        `pathology report ${event.payload.reportId} needs manual abstraction: ${event.payload.missing.join(', ')} not coded (R-PATH-ABSTRACTION)`,
        config,
        'abstraction',
      ),
    ],
  }),

  // End of the pathway
  t({
    from: OPEN,
    on: 'patient.deceased',
    to: 'closed',
    ruleId: 'R-DECEASED',
    update: closedUpdate,
    effects: () => closeEverything('R-DECEASED', 'patient deceased'),
  }),
  t({
    from: OPEN,
    on: 'patient.transferred',
    to: 'closed',
    ruleId: 'R-TRANSFERRED',
    update: closedUpdate,
    effects: () => closeEverything('R-TRANSFERRED', 'patient transferred to another centre'),
  }),
];

// ---------------------------------------------------------------------------------------------------------
// What transitions do
// ---------------------------------------------------------------------------------------------------------

function task(
  event: ClinicalEvent,
  type: TaskType,
  ruleId: RuleId,
  timing: TaskTiming,
  reason: string,
  extra: { discriminator?: string; modality?: ImagingModality; region?: ImagingRegion; escalate?: boolean } = {},
): Effect {
  return {
    kind: 'open-task',
    taskKey: `${event.eventId}:${type}${extra.discriminator ? `:${extra.discriminator}` : ''}`,
    type,
    priority: timing.priority,
    ruleId,
    dueAt: addDays(toIso(event.occurredAt), timing.dueDays),
    reason,
    ...(extra.modality ? { modality: extra.modality } : {}),
    ...(extra.region ? { region: extra.region } : {}),
    ...(extra.escalate ? { escalate: true } : {}),
  };
}

function closeTasks(types: TaskType[], outcome: 'completed' | 'cancelled', ruleId: RuleId, reason: string): Effect {
  return { kind: 'close-tasks', types, outcome, ruleId, reason };
}

function closeReExcisionReview(state: PatientState, outcome: 'completed' | 'cancelled', reason: string): Effect[] {
  return state.reExcisionReview ? [closeTasks(['re-excision-review'], outcome, 'R-MDT-DECISION', reason)] : [];
}

function cancelPlan(state: PatientState, ruleId: RuleId): Effect[] {
  return state.surveillance
    ? [{ kind: 'cancel-surveillance', ruleId, reason: 'the surveillance plan no longer applies' }]
    : [];
}

function isNewReport(state: PatientState, event: ClinicalEvent): boolean {
  return (
    event.type === 'pathology.reported' &&
    event.payload.status === 'final' &&
    !(event.payload.reportId in state.reports)
  );
}

function isCorrectionOfCurrent(state: PatientState, event: ClinicalEvent): boolean {
  return (
    event.type === 'pathology.reported' &&
    event.payload.status === 'corrected' &&
    event.payload.reportId === state.currentReportId
  );
}

/** This event's pathology result recorded (guards, updates and effects of one event ask several times: kept). */
function recordResult(ctx: Ctx): Partial<PatientState> {
  return (ctx.recorded ??= computeResult(ctx));
}

function computeResult({ state, event }: Ctx): Partial<PatientState> {
  if (event.type !== 'pathology.reported') return {};
  const previous = state.reports[event.payload.reportId];
  const result: PathologyResult = {
    ...event.payload,
    eventId: event.eventId,
    reportedAt: toIso(event.occurredAt),
    supersedes: previous ? [...previous.supersedes, previous.eventId] : [],
  };
  const reports = { ...state.reports, [result.reportId]: result };
  let anyPositiveMargin = false;
  for (const id in reports) if (reports[id].margin !== 'R0') anyPositiveMargin = true;
  return { reports, currentReportId: result.reportId, anyPositiveMargin };
}

/** The state with this event's pathology result recorded (what the rules for that result look at). */
function withResult(ctx: Ctx): PatientState {
  return (ctx.withResult ??= { ...ctx.state, ...recordResult(ctx) });
}

/** The result the pathway acts on. */
function currentResult(state: PatientState): PathologyResult | null {
  return state.currentReportId ? (state.reports[state.currentReportId] ?? null) : null;
}

/**
 * The risk profile (section 1) of the current result and the patient's history. Derived, not stored: it is
 * recomputed from the state whenever it is needed, so it can never disagree with the reports.
 */
export function riskOf(state: PatientState): RiskProfile | null {
  const result = currentResult(state);
  if (!result) return null;
  return riskProfile({
    grade: result.grade,
    sizeCm: result.sizeCm,
    depth: result.depth,
    margin: result.margin,
    unplannedExcision: state.unplannedExcision,
    anyPositiveMargin: state.anyPositiveMargin,
    localRecurrence: state.localRecurrences > 0,
  });
}

function supersede({ state, event }: Ctx): Effect {
  const reportId = (event as EventOf<'pathology.reported'>).payload.reportId;
  return {
    kind: 'supersede-report',
    reportId,
    supersededEventId: state.reports[reportId].eventId,
    ruleId: 'R-CORRECTED-REPORT',
  };
}

/** A high-risk current result (R-RISK-HIGH) in `withResult`, and no radiotherapy recorded in `state`. */
function needsRadiotherapyEvaluation(state: PatientState, withResult: PatientState): boolean {
  const result = currentResult(withResult);
  return !!result && isHighRisk(result) && state.radiotherapy === 'none';
}

/** After the MDT accepts no re-excision: which rule asks for a radiotherapy evaluation, if any. */
function radiotherapyAfterNoReExcision({ state, config }: Ctx): RuleId | null {
  if (state.radiotherapy !== 'none') return null;
  const result = currentResult(state);
  if (result && isHighRisk(result)) return 'R-RT-EVAL';
  const current = state.currentReportId ? state.reports[state.currentReportId] : null;
  if (config.radiotherapyEvaluationAfterAcceptedPositiveMargin && current && current.margin !== 'R0')
    return 'R-RT-EVAL-MARGIN';
  return null;
}

function radiotherapyEvaluationTask(event: ClinicalEvent, config: PathwayConfig, ruleId: RuleId, why: string): Effect {
  return task(
    event,
    'radiotherapy-evaluation',
    ruleId,
    config.tasks.radiotherapyEvaluation,
    `${why}: adjuvant radiotherapy evaluation (${ruleId})`,
  );
}

function newDiagnosisMdt({ state, event, config }: Ctx): Effect[] {
  if (Object.keys(state.reports).length > 0 || state.localRecurrences > 0) return [];
  const reportId = (event as EventOf<'pathology.reported'>).payload.reportId;
  return [
    task(
      event,
      'mdt-review',
      'R-MDT-NEW',
      config.tasks.newDiagnosisMdt,
      `new sarcoma diagnosis on report ${reportId}: MDT (tumour board) review (R-MDT-NEW)`,
      { discriminator: 'new' },
    ),
  ];
}

function positiveMarginTasks(event: EventOf<'pathology.reported'>, config: PathwayConfig): Effect[] {
  const margin: Margin = event.payload.margin;
  const ruleId = margin === 'R2' ? 'R-MARGIN-R2' : 'R-MARGIN-R1';
  const timing = margin === 'R2' ? config.tasks.marginR2 : config.tasks.marginR1;
  const on = `${margin} margin on report ${event.payload.reportId}`;
  return [
    task(event, 're-excision-review', ruleId, timing, `${on}: re-excision review (${ruleId})`),
    task(event, 'mdt-review', ruleId, timing, `${on}: MDT review (${ruleId})`, { discriminator: 'margin' }),
  ];
}

function unplannedExcisionTasks(event: ClinicalEvent, config: PathwayConfig): Effect[] {
  const timing = config.tasks.unplannedExcision;
  const on = 'unplanned excision (inadequate initial resection)';
  return [
    task(event, 're-excision-review', 'R-UNPLANNED', timing, `${on}: re-excision review (R-UNPLANNED)`),
    task(event, 'mdt-review', 'R-UNPLANNED', timing, `${on}: MDT review (R-UNPLANNED)`),
    task(
      event,
      'imaging-order',
      'R-UNPLANNED',
      timing,
      `${on}: MRI of the primary site for residual disease (R-UNPLANNED)`,
      { modality: 'MRI', region: 'primary-site' },
    ),
  ];
}

/** Surveillance from the end of definitive treatment (R-SURV-START), on the schedule the history demands. */
function planFor({ event, config }: Ctx, state: PatientState, anchorAt: string = event.occurredAt) {
  const schedule = surveillanceSchedule(currentResult(state)?.grade ?? null, {
    unplannedExcision: state.unplannedExcision,
    anyPositiveMargin: state.anyPositiveMargin,
    localRecurrence: state.localRecurrences > 0,
  });
  return newPlan(event, anchorAt, schedule, 'R-SURV-START', config);
}

/**
 * A plan from `anchorAt`, written up to the horizon; the state keeps how far. The effect (with the items) is worked
 * out only when asked for: the state needs the plan's terms, not its items (a replay evolves states only).
 */
function newPlan(
  event: ClinicalEvent,
  anchorAt: string,
  schedule: 'high-grade' | 'low-grade',
  ruleId: RuleId,
  config: PathwayConfig,
): { state: NonNullable<PatientState['surveillance']>; readonly effect: Effect } {
  const anchor = toIso(anchorAt);
  const materializedUntil = materializationHorizon(anchor, event.occurredAt, config);
  return {
    state: { anchorEventId: event.eventId, anchorAt: anchor, schedule, ruleId, materializedUntil },
    get effect(): Effect {
      const plan = surveillancePlan(event.eventId, anchor, schedule, ruleId, config, materializedUntil);
      return {
        kind: 'plan-surveillance',
        ruleId,
        anchorAt: plan.anchorAt,
        schedule,
        items: itemsDueBetween(plan, null, materializedUntil),
        materializedUntil,
      };
    },
  };
}

/**
 * Moves the plan's horizon on to this event's time: the items that came within it are written now. Keyed as in
 * the full plan, so writing them again (a replay, the sweeper) changes nothing.
 *
 * `next` is the event's new state, just built by `advance` and not yet seen by anyone: the horizon is set on it in
 * place (one copy of the state fewer per event: a replay makes millions).
 */
function extendPlan(
  next: PatientState,
  event: ClinicalEvent,
  config: PathwayConfig,
  decide: boolean,
): { state: PatientState; effects: Effect[] } {
  const current = next.surveillance;
  if (!current) return { state: next, effects: [] };
  const horizon = materializationHorizon(current.anchorAt, event.occurredAt, config);
  if (horizon <= current.materializedUntil) return { state: next, effects: [] };
  next.surveillance = { ...current, materializedUntil: horizon };
  if (!decide) return { state: next, effects: [] };
  const plan = surveillancePlan(
    current.anchorEventId,
    current.anchorAt,
    current.schedule,
    current.ruleId,
    config,
    horizon,
  );
  const items = itemsDueBetween(plan, current.materializedUntil, horizon);
  if (items.length === 0) return { state: next, effects: [] };
  return {
    state: next,
    effects: [{ kind: 'extend-surveillance', ruleId: current.ruleId, items, materializedUntil: horizon }],
  };
}

/**
 * A correction in surveillance does not restart the clock (times run from the end of definitive treatment):
 * the plan in force stays, or, when the corrected result changes the schedule, is replaced by one on the new
 * schedule from the same anchor. Otherwise surveillance starts now.
 */
function continuedPlan(ctx: Ctx, next: PatientState): { state: PatientState['surveillance']; effects: Effect[] } {
  const current = ctx.state.pathway === 'surveillance' ? ctx.state.surveillance : null;
  const plan = planFor(ctx, next, current?.anchorAt);
  if (current && plan.state.schedule === current.schedule) return { state: current, effects: [] };
  return { state: plan.state, effects: [plan.effect] };
}

function intensifiedPlan({ event, config }: Ctx) {
  return newPlan(event, event.occurredAt, 'high-grade', 'R-LR-ESCALATE', config);
}

function localRecurrenceUpdate(ctx: Ctx): Partial<PatientState> {
  return {
    localRecurrences: ctx.state.localRecurrences + 1,
    reExcisionReview: null,
    surveillance: intensifiedPlan(ctx).state,
  };
}

/** R-LR-ESCALATE, section 4 of the rules, all at once. */
function localRecurrenceEffects(ctx: Ctx): Effect[] {
  const { event, config } = ctx;
  const timing = config.tasks.localRecurrence;
  const why = 'local recurrence (HR 8.4 for distant metastasis [1])';
  const tasks = [
    task(event, 'mdt-review', 'R-LR-ESCALATE', timing, `${why}: urgent MDT review (R-LR-ESCALATE)`, { escalate: true }),
    task(event, 'imaging-order', 'R-LR-ESCALATE', timing, `${why}: restaging chest CT (R-LR-ESCALATE)`, {
      discriminator: 'chest',
      modality: 'CT',
      region: 'chest',
      escalate: true,
    }),
    task(event, 'imaging-order', 'R-LR-ESCALATE', timing, `${why}: MRI of the primary site (R-LR-ESCALATE)`, {
      discriminator: 'primary-site',
      modality: 'MRI',
      region: 'primary-site',
      escalate: true,
    }),
  ];
  const taskKeys = tasks.map((e) => (e as Extract<Effect, { kind: 'open-task' }>).taskKey);
  return [
    ...tasks,
    {
      kind: 'notify',
      audience: 'care-navigator',
      priority: 'urgent',
      ruleId: 'R-LR-ESCALATE',
      template: 'local-recurrence',
      taskKeys,
    },
    {
      kind: 'notify',
      audience: 'care-team',
      priority: 'urgent',
      ruleId: 'R-LR-ESCALATE',
      template: 'local-recurrence',
      taskKeys,
    },
    {
      kind: 'cancel-surveillance',
      ruleId: 'R-LR-ESCALATE',
      reason: 'replaced by the intensified plan after local recurrence',
    },
    intensifiedPlan(ctx).effect,
  ];
}

/** R-DM. Surveillance stops: a metastatic patient is followed by medical oncology, not the local schedule. */
function distantMetastasisEffects({ state, event, config }: Ctx): Effect[] {
  const timing = config.tasks.distantMetastasis;
  const why = 'distant metastasis (HR 12.6 for death [1])';
  const tasks = [
    task(event, 'mdt-review', 'R-DM', timing, `${why}: urgent MDT review (R-DM)`),
    task(event, 'medical-oncology-referral', 'R-DM', timing, `${why}: medical-oncology referral (R-DM)`),
  ];
  return [
    ...tasks,
    {
      kind: 'notify',
      audience: 'care-team',
      priority: 'urgent',
      ruleId: 'R-DM',
      template: 'distant-metastasis',
      taskKeys: tasks.map((e) => (e as Extract<Effect, { kind: 'open-task' }>).taskKey),
    },
    ...closeReExcisionReview(state, 'cancelled', 'distant metastasis: MDT to review the whole plan'),
    ...(state.surveillance
      ? [
          {
            kind: 'cancel-surveillance' as const,
            ruleId: 'R-DM',
            reason: 'metastatic disease: followed by medical oncology',
          },
        ]
      : []),
  ];
}

function closedUpdate(): Partial<PatientState> {
  return { surveillance: null, reExcisionReview: null };
}

/** R-DECEASED (and R-TRANSFERRED): nothing stays open, nothing is planned. */
function closeEverything(ruleId: RuleId, reason: string): Effect[] {
  return [closeTasks([...TASK_TYPES], 'cancelled', ruleId, reason), { kind: 'cancel-surveillance', ruleId, reason }];
}

// ---------------------------------------------------------------------------------------------------------
// Events that fit nowhere (R-UNEXPECTED), and late ones (R-LATE-EVENT)
// ---------------------------------------------------------------------------------------------------------

function unexpectedReason(state: PatientState, event: ClinicalEvent): string {
  if (state.pathway === 'closed') return `the pathway is closed`;
  if (event.type === 'patient.registered') return 'the patient is already registered';
  if (event.type === 'pathology.reported') {
    const known = event.payload.reportId in state.reports;
    if (event.payload.status === 'final' && known)
      return `report ${event.payload.reportId} was already received as final`;
    if (event.payload.status === 'corrected' && !known)
      return `corrected report ${event.payload.reportId} corrects no report received`;
    if (event.payload.status === 'corrected')
      return `corrected report ${event.payload.reportId} arrived after the pathway moved on`;
  }
  return `it does not fit the pathway state ${state.pathway}`;
}

function dataQualityReview(
  event: ClinicalEvent,
  ruleId: RuleId,
  reason: string,
  config: PathwayConfig,
  discriminator = 'unexpected',
): Effect {
  return dataQualityReviewTask(
    event,
    ruleId,
    `event ${event.type} ${event.eventId} recorded but ${reason}: please review (${ruleId})`,
    config,
    discriminator,
  );
}

function dataQualityReviewTask(
  event: ClinicalEvent,
  ruleId: RuleId,
  why: string,
  config: PathwayConfig,
  discriminator: string,
): Effect {
  return task(event, 'data-quality-review', ruleId, config.tasks.dataQualityReview, why, { discriminator });
}

/** For the store: an event that arrived after a clinically later one. */
export function lateArrivalReview(event: ClinicalEvent, config: PathwayConfig = DEFAULT_PATHWAY_CONFIG): Effect {
  return dataQualityReview(
    event,
    'R-LATE-EVENT',
    'it arrived after events that happened later; the state was rebuilt in clinical order',
    config,
    'late',
  );
}

// ---------------------------------------------------------------------------------------------------------
// The pathway
// ---------------------------------------------------------------------------------------------------------

export interface Step {
  state: PatientState;
  decision: Decision;
}

/** The table's rows for each event type, in table order (the first match wins, as in the table). */
const TRANSITIONS_BY_EVENT = new Map<EventType, Transition[]>();
for (const row of TRANSITIONS) TRANSITIONS_BY_EVENT.set(row.on, [...(TRANSITIONS_BY_EVENT.get(row.on) ?? []), row]);

function findTransition(ctx: Ctx & { event: never }): Transition | undefined {
  const rows = TRANSITIONS_BY_EVENT.get((ctx as Ctx).event.type);
  if (!rows) return undefined;
  for (const row of rows) if (row.from.includes(ctx.state.pathway) && (!row.guard || row.guard(ctx))) return row;
  return undefined;
}

/** decide and evolve together (what the store calls: one pass). */
export function step(state: PatientState, event: ClinicalEvent, config: PathwayConfig = DEFAULT_PATHWAY_CONFIG): Step {
  return advance(state, event, config, true);
}

/**
 * One event: the next state, and (when `decide`) the effects. With `decide` false only the state is worked out — what
 * `evolve` needs to rebuild a state or replay a log — and the decision is empty; the state is the same either way
 * (effects are computed beside the state, never feed it).
 */
function advance(state: PatientState, event: ClinicalEvent, config: PathwayConfig, decide: boolean): Step {
  const ctx = { state, event, config } as Ctx & { event: never };
  const eventCount = state.eventCount + 1;
  const lastOccurredAt = latest(state.lastOccurredAt, event.occurredAt);
  const row = findTransition(ctx);
  const effects: Effect[] = [];
  // A patient's first event without a registration: applied as usual, and one review asks for the registration.
  const unregistered = !state.registered && state.eventCount === 0 && event.type !== 'patient.registered';
  if (unregistered && decide) {
    effects.push(dataQualityReview(event, 'R-UNEXPECTED', 'the patient was never registered', config, 'unregistered'));
  }
  if (!row) {
    // Never dropped: recorded, counted, a person reviews it; its clinical facts are kept as data.
    const kept = keptFacts(ctx);
    const extended = extendPlan(
      { ...state, eventCount, lastOccurredAt, ...kept.update, unexpectedEventCount: state.unexpectedEventCount + 1 },
      event,
      config,
      decide,
    );
    if (!decide) return { state: extended.state, decision: { effects: [], unexpected: true } };
    effects.push(...kept.effects, dataQualityReview(event, 'R-UNEXPECTED', unexpectedReason(state, event), config));
    const fulfilled = fulfilment(extended.state, event, config);
    return {
      state: extended.state,
      decision: { effects: [...effects, ...extended.effects, ...fulfilled], unexpected: true },
    };
  }
  const to = row.to ?? state.pathway;
  const unexpectedEventCount = state.unexpectedEventCount + (unregistered ? 1 : 0);
  // (most rows change nothing beyond the pathway: no update to spread in)
  const next: PatientState = row.update
    ? { ...state, eventCount, lastOccurredAt, ...row.update(ctx), pathway: to, unexpectedEventCount }
    : { ...state, eventCount, lastOccurredAt, pathway: to, unexpectedEventCount };
  const extended = extendPlan(next, event, config, decide);
  if (!decide) return { state: extended.state, decision: { effects: [], unexpected: unregistered } };
  if (to !== state.pathway) effects.push({ kind: 'transition', from: state.pathway, to, ruleId: row.ruleId });
  effects.push(...(row.effects ? row.effects(ctx) : []));
  const fulfilled = fulfilment(extended.state, event, config);
  return {
    state: extended.state,
    decision: { effects: [...effects, ...extended.effects, ...fulfilled], unexpected: unregistered },
  };
}

/**
 * What an event that fits no row still leaves in the record: a pathology result (a new report, or the correction
 * of a known one, with its audit link), a radiotherapy course, an unplanned excision. The pathway does not move
 * on from them; the data-quality review decides. A closed record is left as it is.
 */
function keptFacts(ctx: Ctx): { update: Partial<PatientState>; effects: Effect[] } {
  const { state, event } = ctx;
  const none = { update: {}, effects: [] };
  if (state.pathway === 'closed') return none;
  switch (event.type) {
    case 'pathology.reported': {
      if (!(event.payload.reportId in state.reports)) return { update: recordResult(ctx), effects: [] };
      // A second `final` with a known id: the first stands until a person decides.
      return event.payload.status === 'corrected' ? { update: recordResult(ctx), effects: [supersede(ctx)] } : none;
    }
    case 'radiotherapy.completed':
      return { update: { radiotherapy: 'completed' }, effects: [] };
    case 'surgery.performed':
      return event.payload.procedure === 'unplanned-excision'
        ? { update: { unplannedExcision: true }, effects: [] }
        : none;
    default:
      return none;
  }
}

/** A visit or scan fulfils an item of the plan in force after the event (so the intensified plan, not the old one). */
function fulfilment(state: PatientState, event: ClinicalEvent, config: PathwayConfig): Effect[] {
  const effect = surveillanceFulfilment(state.surveillance, event, config);
  return effect ? [effect] : [];
}

function latest(a: string | null, b: string): string {
  const iso = toIso(b);
  return a === null || iso > a ? iso : a;
}

export function createPathway(config: PathwayConfig = DEFAULT_PATHWAY_CONFIG) {
  return {
    config,
    initialState,
    decide: (state: PatientState, event: ClinicalEvent, _now: Date): Decision => step(state, event, config).decision,
    evolve: (state: PatientState, event: ClinicalEvent): PatientState => advance(state, event, config, false).state,
    step: (state: PatientState, event: ClinicalEvent): Step => step(state, event, config),
    lateArrivalReview: (event: ClinicalEvent): Effect => lateArrivalReview(event, config),
    transitions: TRANSITIONS.map(({ from, on, when, to, ruleId }): TransitionDefinition => ({
      from,
      on,
      when,
      to,
      ruleId,
    })),
  };
}

export type Pathway = ReturnType<typeof createPathway>;
