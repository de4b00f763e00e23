/**
 * Every number the rules mark *default*, as configuration (pathway-rules.md). A centre sets its own policy
 * here; the rule table (rules.ts) says which rule reads which key.
 */
import type { ImagingModality } from '@app/contracts';
import type { TaskPriority } from './model';

/** A surveillance interval: the next item is due `minMonths` after the previous one and overdue after `maxMonths`. */
export interface SurveillanceWindow {
  minMonths: number;
  maxMonths: number;
}

/** Intervals for the periods "years 0–3", "years 3–5", "years 5–10" (boundaries in `periodsEndMonths`). */
export type PeriodWindows = [SurveillanceWindow, SurveillanceWindow, SurveillanceWindow];

export interface TaskTiming {
  priority: TaskPriority;
  dueDays: number;
}

export interface PathwayConfig {
  tasks: {
    marginR1: TaskTiming;
    marginR2: TaskTiming;
    unplannedExcision: TaskTiming;
    radiotherapyEvaluation: TaskTiming;
    newDiagnosisMdt: TaskTiming;
    localRecurrence: TaskTiming;
    distantMetastasis: TaskTiming;
    suspiciousImaging: TaskTiming;
    dataQualityReview: TaskTiming;
  };
  surveillance: {
    /** Months from the end of definitive treatment where "years 0–3" and "years 3–5" end; the schedule ends at the third. */
    periodsEndMonths: [number, number, number];
    chestModality: ImagingModality;
    /**
     * How far ahead plan items are written as rows: items due within this many months of the later of the plan's
     * start and the latest event. A ten-year plan is ~55 items; writing them all with one event is most of that
     * event's cost, and nobody acts on an item years ahead. The sweeper moves the horizon on with time.
     */
    materializeMonthsAhead: number;
    /** The order (imaging-order, or visit-reminder for a clinic visit) is opened this many days before an item is due. */
    orderLeadDays: number;
    /**
     * A visit or scan fulfils the earliest open item of its kind due no later than this many days after it: an
     * item brought forward counts; one months ahead does not.
     */
    fulfilWithinDays: number;
    highGradeVisit: PeriodWindows;
    highGradeChest: PeriodWindows;
    primarySiteMri: PeriodWindows;
    lowGradeVisit: PeriodWindows;
    lowGradeChest: PeriodWindows;
  };
  escalation: {
    /** R-LR-ESCALATE step 5: an urgent task not accepted within these hours escalates. */
    navigatorLeadAfterHours: number;
    clinicalLeadAfterHours: number;
  };
  /**
   * R-SURV-OVERDUE: an item past its window opens a navigator task; still overdue `escalateAfterDays` after the
   * window ended, it escalates to the navigator lead (the task is due then).
   */
  surveillanceOverdue: { priority: TaskPriority; escalateAfterDays: number };
  /**
   * Local option where the rules are silent (R-RT-EVAL-MARGIN): when an MDT accepts a positive margin
   * (`no-re-excision`), evaluate radiotherapy even for a tumour that is not high-risk. Off by default: the
   * rules ask for the evaluation only for a high-risk tumour (R-RT-EVAL), otherwise surveillance starts.
   */
  radiotherapyEvaluationAfterAcceptedPositiveMargin: boolean;
}

const w = (minMonths: number, maxMonths: number): SurveillanceWindow => ({ minMonths, maxMonths });

export const DEFAULT_PATHWAY_CONFIG: PathwayConfig = {
  tasks: {
    marginR1: { priority: 'high', dueDays: 7 },
    marginR2: { priority: 'urgent', dueDays: 2 },
    unplannedExcision: { priority: 'high', dueDays: 7 },
    radiotherapyEvaluation: { priority: 'high', dueDays: 14 },
    newDiagnosisMdt: { priority: 'routine', dueDays: 14 },
    localRecurrence: { priority: 'urgent', dueDays: 2 },
    distantMetastasis: { priority: 'urgent', dueDays: 2 },
    suspiciousImaging: { priority: 'high', dueDays: 7 },
    dataQualityReview: { priority: 'routine', dueDays: 7 },
  },
  surveillance: {
    periodsEndMonths: [36, 60, 120],
    chestModality: 'CT',
    materializeMonthsAhead: 12,
    orderLeadDays: 14,
    fulfilWithinDays: 30,
    // "every 3–4 months" = due 3 months after the previous item, overdue after 4. A single figure ("every
    // 6 months") gets a window of one month (6–7), "every 12 months" two (12–14).
    highGradeVisit: [w(3, 4), w(6, 7), w(12, 14)],
    highGradeChest: [w(3, 4), w(6, 7), w(12, 14)],
    primarySiteMri: [w(6, 7), w(12, 14), w(12, 14)],
    lowGradeVisit: [w(4, 6), w(6, 12), w(12, 14)],
    lowGradeChest: [w(6, 12), w(12, 14), w(12, 14)],
  },
  escalation: { navigatorLeadAfterHours: 24, clinicalLeadAfterHours: 48 },
  surveillanceOverdue: { priority: 'high', escalateAfterDays: 14 },
  radiotherapyEvaluationAfterAcceptedPositiveMargin: false,
};
