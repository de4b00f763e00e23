import type { FnclccGrade, Margin, TumourDepth } from '@app/contracts';
import type { RiskProfile } from './model';

export interface RiskInputs {
  grade: FnclccGrade;
  sizeCm: number;
  depth: TumourDepth;
  margin: Margin;
  /** R-RISK-UNPLANNED: the first operation was an unplanned excision. */
  unplannedExcision: boolean;
  /** Any R1/R2 result so far (a later R0 after re-excision does not undo it). */
  anyPositiveMargin: boolean;
  /** A local recurrence has been logged (intensified, high-grade follow-up from then on). */
  localRecurrence: boolean;
}

export const LOCAL_RECURRENCE_ANNOTATION =
  'local recurrence: hazard ratio 8.4 for distant metastasis and 3.4 for death [1] (R-LR-ESCALATE)';

/** R-RISK-HIGH: high grade (FNCLCC 2–3), deep and larger than 5 cm (riskProfile's `highRisk`, on its own). */
export function isHighRisk(tumour: Pick<RiskInputs, 'grade' | 'sizeCm' | 'depth'>): boolean {
  return tumour.grade >= 2 && tumour.sizeCm > 5 && tumour.depth === 'deep';
}

/** Section 1 of the rules, recomputed on every pathology result. */
export function riskProfile(inputs: RiskInputs): RiskProfile {
  const highGrade = inputs.grade >= 2;
  const largerThan5cm = inputs.sizeCm > 5;
  const deep = inputs.depth === 'deep';
  const highRisk = isHighRisk(inputs);
  const inadequateInitialResection = inputs.unplannedExcision;
  const ruleIds: string[] = ['R-RISK-GRADE', 'R-RISK-SIZE', 'R-RISK-DEPTH', 'R-RISK-MARGIN'];
  const annotations: string[] = [
    `FNCLCC grade ${inputs.grade}: ${highGrade ? 'high' : 'low'} grade (R-RISK-GRADE)`,
    `largest dimension ${inputs.sizeCm} cm${largerThan5cm ? ' > 5 cm: risk factor' : ''} (R-RISK-SIZE)`,
    `${inputs.depth}${deep ? ': risk factor' : ''} (R-RISK-DEPTH)`,
    `margin ${inputs.margin} (R-RISK-MARGIN)`,
  ];
  if (highRisk) {
    ruleIds.push('R-RISK-HIGH');
    annotations.push('high-risk tumour: high grade, deep and > 5 cm (R-RISK-HIGH)');
  }
  if (inadequateInitialResection) {
    ruleIds.push('R-RISK-UNPLANNED');
    annotations.push('inadequate initial resection (unplanned excision) [2] (R-RISK-UNPLANNED)');
  }
  if (inputs.localRecurrence) annotations.push(LOCAL_RECURRENCE_ANNOTATION);
  const schedule = surveillanceSchedule(inputs.grade, inputs);
  if (schedule === 'high-grade' && !highGrade) ruleIds.push('R-SURV-HG-SCHEDULE');
  return {
    grade: inputs.grade,
    highGrade,
    sizeCm: inputs.sizeCm,
    largerThan5cm,
    depth: inputs.depth,
    deep,
    highRisk,
    margin: inputs.margin,
    inadequateInitialResection,
    schedule,
    ruleIds,
    annotations,
  };
}

/**
 * Which surveillance schedule applies. An inadequate initial resection or any R1/R2 result is followed on the
 * high-grade schedule whatever the grade [2]; so is a patient after a local recurrence; and a patient
 * with no graded result yet (the careful default).
 */
export function surveillanceSchedule(
  grade: FnclccGrade | null,
  history: Pick<RiskInputs, 'unplannedExcision' | 'anyPositiveMargin' | 'localRecurrence'>,
): 'high-grade' | 'low-grade' {
  if (grade === null || grade >= 2) return 'high-grade';
  return history.unplannedExcision || history.anyPositiveMargin || history.localRecurrence ? 'high-grade' : 'low-grade';
}
