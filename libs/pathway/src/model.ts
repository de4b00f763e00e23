/**
 * The pathway's vocabulary: states, task types, effects. Pure types; the behaviour is in pathway.ts
 * and the clinical rules (ids R-…) in rules.ts.
 */
import type { ClinicalEvent, FnclccGrade, ImagingModality, ImagingRegion, Margin, TumourDepth } from '@app/contracts';

export const PATHWAY_STATES = [
  'awaiting-surgery',
  'awaiting-pathology',
  're-excision-review',
  'adjuvant-evaluation',
  'surveillance',
  'local-recurrence',
  'metastatic',
  'closed',
] as const;
export type PathwayStateName = (typeof PATHWAY_STATES)[number];

export const TASK_TYPES = [
  're-excision-review',
  'mdt-review',
  'radiotherapy-evaluation',
  'imaging-order',
  /** Book the surveillance clinic visit that falls due (R-SURV-*-VISIT), ahead of its window. */
  'visit-reminder',
  'medical-oncology-referral',
  'surveillance-overdue',
  'data-quality-review',
] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export const TASK_PRIORITIES = ['routine', 'high', 'urgent'] as const;
export type TaskPriority = (typeof TASK_PRIORITIES)[number];

/** Rule ids from shared/clinical/pathway-rules.md, plus R-UNEXPECTED for events that do not fit the state. */
export type RuleId = string;

export type SurveillanceItemKind = 'clinic-visit' | 'chest-imaging' | 'primary-site-mri';

export interface SurveillanceItem {
  /** Deterministic: derived from the plan's anchor event, so replay gives the same ids. */
  key: string;
  kind: SurveillanceItemKind;
  ruleId: RuleId;
  modality?: ImagingModality;
  region?: ImagingRegion;
  /** ISO date-time: window start. */
  dueAt: string;
  /** ISO date-time: window end; after it the item is overdue (R-SURV-OVERDUE). */
  overdueAt: string;
}

export interface RiskProfile {
  grade: FnclccGrade;
  highGrade: boolean;
  sizeCm: number;
  largerThan5cm: boolean;
  depth: TumourDepth;
  deep: boolean;
  highRisk: boolean;
  margin: Margin;
  inadequateInitialResection: boolean;
  /** Which surveillance schedule applies (R-SURV-HG-* or R-SURV-LG-*). */
  schedule: 'high-grade' | 'low-grade';
  /** Rule ids that produced the annotations above, e.g. R-RISK-HIGH. */
  ruleIds: RuleId[];
  /** Evidence notes a clinician reads, e.g. "local recurrence: HR 8.4 for distant metastasis [1]". */
  annotations: string[];
}

/** What the pathway asks the outside world to do. Every effect names its rule. */
export type Effect =
  | {
      kind: 'open-task';
      /** Deterministic key (eventId + type + discriminator): the store's unique key, so a replay opens nothing twice. */
      taskKey: string;
      type: TaskType;
      priority: TaskPriority;
      ruleId: RuleId;
      /** ISO date-time. */
      dueAt: string;
      /** Why the task exists, in clinic words, with no patient-identifying data. */
      reason: string;
      modality?: ImagingModality;
      region?: ImagingRegion;
      /** SLA escalation applies (R-LR-ESCALATE step 5). */
      escalate?: boolean;
    }
  | {
      kind: 'close-tasks';
      /** Open tasks of these types are completed (e.g. an MDT decision closes the re-excision review). */
      types: TaskType[];
      outcome: 'completed' | 'cancelled';
      ruleId: RuleId;
      reason: string;
    }
  | {
      /** A new plan replaces the one in force. */
      kind: 'plan-surveillance';
      ruleId: RuleId;
      anchorAt: string;
      schedule: 'high-grade' | 'low-grade';
      /** The plan's items due up to `materializedUntil`; later ones follow as the horizon moves on. */
      items: SurveillanceItem[];
      materializedUntil: string;
    }
  | {
      /** The plan in force, written further ahead: its items that came within the horizon. */
      kind: 'extend-surveillance';
      ruleId: RuleId;
      items: SurveillanceItem[];
      materializedUntil: string;
    }
  | { kind: 'cancel-surveillance'; ruleId: RuleId; reason: string }
  | {
      /**
       * A clinic visit or a surveillance scan happened: the earliest planned item of this kind due by `dueBy`
       * is done, and the tasks chasing it (order, overdue) are completed. Which item is the store's to find.
       */
      kind: 'fulfil-surveillance';
      ruleId: RuleId;
      itemKind: SurveillanceItemKind;
      /** ISO date-time: when it happened. */
      doneAt: string;
      /** ISO date-time: items due later than this are not fulfilled (a visit far ahead of its window is not it). */
      dueBy: string;
    }
  | {
      kind: 'notify';
      audience: 'care-navigator' | 'care-team';
      priority: TaskPriority;
      ruleId: RuleId;
      /** Template name; the notification carries task ids and a link, never patient data. */
      template: string;
      taskKeys: string[];
    }
  | { kind: 'transition'; from: PathwayStateName | null; to: PathwayStateName; ruleId: RuleId }
  | { kind: 'supersede-report'; reportId: string; supersededEventId: string; ruleId: RuleId };

export interface Decision {
  effects: Effect[];
  /** True when the event did not fit the state (a data-quality-review task is among the effects). */
  unexpected: boolean;
}

/** An event as the pathway sees it: the v1 contract. */
export type PathwayEvent = ClinicalEvent;
