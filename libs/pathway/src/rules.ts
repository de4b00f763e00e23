/**
 * The rule table: every rule the pathway applies, with its id, what it says, its evidence and the
 * configuration it reads. Ids R-… come from shared/clinical/pathway-rules.md; the few marked `local` are
 * this service's choices where the rules are silent (docs/pathway.md lists them).
 */
export interface Rule {
  id: string;
  section: 'risk' | 'tasks' | 'surveillance' | 'recurrence' | 'safety' | 'pathway';
  summary: string;
  evidence?: string;
  config?: string[];
  /** A choice of this service where the clinical rules are silent. */
  local?: boolean;
}

export const RULES = [
  {
    id: 'R-RISK-GRADE',
    section: 'risk',
    summary: 'FNCLCC grade 2 or 3 = high grade; grade 1 = low grade',
    evidence: '[1]',
  },
  { id: 'R-RISK-SIZE', section: 'risk', summary: 'largest dimension > 5 cm is a risk factor', evidence: '[3]' },
  {
    id: 'R-RISK-DEPTH',
    section: 'risk',
    summary: 'deep (below or involving the superficial fascia) is a risk factor',
    evidence: '[3]',
  },
  { id: 'R-RISK-HIGH', section: 'risk', summary: 'high grade AND deep AND > 5 cm = high-risk tumour', evidence: '[3]' },
  {
    id: 'R-RISK-MARGIN',
    section: 'risk',
    summary: 'R0 negative; R1 microscopic tumour at margin; R2 macroscopic residual tumour',
  },
  {
    id: 'R-RISK-UNPLANNED',
    section: 'risk',
    summary: 'an unplanned ("whoops") excision is an inadequate initial resection',
    evidence: '[2]',
  },
  {
    id: 'R-MARGIN-R1',
    section: 'tasks',
    summary: 'R1 margin: re-excision review and MDT review, high, due 7 days',
    config: ['tasks.marginR1'],
  },
  {
    id: 'R-MARGIN-R2',
    section: 'tasks',
    summary: 'R2 margin: re-excision review and MDT review, urgent, due 2 days',
    config: ['tasks.marginR2'],
  },
  {
    id: 'R-UNPLANNED',
    section: 'tasks',
    summary:
      'unplanned excision: re-excision review, MDT review, MRI of the primary site (residual disease), high, due 7 days',
    evidence: '[2]',
    config: ['tasks.unplannedExcision'],
  },
  {
    id: 'R-RT-EVAL',
    section: 'tasks',
    summary: 'high-risk tumour with no radiotherapy recorded: adjuvant radiotherapy evaluation, high, due 14 days',
    evidence: '[3]',
    config: ['tasks.radiotherapyEvaluation'],
  },
  {
    id: 'R-RT-EVAL-MARGIN',
    section: 'tasks',
    summary:
      'option, off by default: MDT accepts a positive margin (no re-excision): adjuvant radiotherapy evaluation, even if not high-risk',
    config: ['radiotherapyEvaluationAfterAcceptedPositiveMargin', 'tasks.radiotherapyEvaluation'],
    local: true,
  },
  {
    id: 'R-MDT-NEW',
    section: 'tasks',
    summary: 'first pathology result (new diagnosis): MDT review, routine, due 14 days',
    evidence: '[4]',
    config: ['tasks.newDiagnosisMdt'],
  },
  {
    id: 'R-LR-ESCALATE',
    section: 'recurrence',
    summary:
      'local recurrence: state local-recurrence; urgent MDT review, restaging chest CT, primary-site MRI; urgent notification; intensified (high-grade) surveillance from the recurrence date; SLA escalation 24 h navigator lead, 48 h clinical lead',
    evidence: '[1] LR -> DM HR 8.4, LR -> death HR 3.4',
    config: ['tasks.localRecurrence', 'escalation'],
  },
  {
    id: 'R-DM',
    section: 'tasks',
    summary: 'distant metastasis: MDT review, medical-oncology referral, notify the care team; urgent, due 2 days',
    evidence: '[1] DM -> death HR 12.6',
    config: ['tasks.distantMetastasis'],
  },
  {
    id: 'R-DECEASED',
    section: 'tasks',
    summary: 'patient deceased: cancel every open task and future surveillance item; close the pathway',
  },
  {
    id: 'R-TRANSFERRED',
    section: 'pathway',
    summary: 'patient transferred to another centre: as R-DECEASED, the receiving centre takes over follow-up',
    local: true,
  },
  { id: 'R-PATH-ENTRY', section: 'pathway', summary: 'registration opens the pathway: awaiting surgery', local: true },
  {
    id: 'R-PATH-SURGERY',
    section: 'pathway',
    summary:
      'a resection (wide, marginal, re-excision, amputation) awaits its pathology; a re-excision closes the open re-excision review',
    local: true,
  },
  {
    id: 'R-MDT-DECISION',
    section: 'pathway',
    summary:
      'an MDT decision closes the re-excision review: re-excise returns to awaiting surgery; no-re-excision goes on to radiotherapy evaluation or surveillance',
  },
  {
    id: 'R-SURV-START',
    section: 'surveillance',
    summary:
      'definitive treatment complete (R0 with no open re-excision review and no pending radiotherapy, MDT no-re-excision, or radiotherapy completed): surveillance starts',
  },
  {
    id: 'R-SURV-HG-VISIT',
    section: 'surveillance',
    summary: 'high grade: clinic follow-up every 3–4 months (years 0–3), 6 months (3–5), 12 months (5–10)',
    config: ['surveillance.highGradeVisit'],
  },
  {
    id: 'R-SURV-HG-CHEST',
    section: 'surveillance',
    summary: 'high grade: chest imaging (CT default) every 3–4 / 6 / 12 months',
    config: ['surveillance.highGradeChest', 'surveillance.chestModality'],
  },
  {
    id: 'R-SURV-MRI',
    section: 'surveillance',
    summary: 'all: MRI of the primary site every 6 / 12 / 12 months',
    config: ['surveillance.primarySiteMri'],
  },
  {
    id: 'R-SURV-LG-VISIT',
    section: 'surveillance',
    summary: 'low grade: clinic follow-up every 4–6 / 6–12 / 12 months',
    config: ['surveillance.lowGradeVisit'],
  },
  {
    id: 'R-SURV-LG-CHEST',
    section: 'surveillance',
    summary: 'low grade: chest imaging every 6–12 / 12 / 12 months',
    config: ['surveillance.lowGradeChest', 'surveillance.chestModality'],
  },
  {
    id: 'R-SURV-HG-SCHEDULE',
    section: 'surveillance',
    summary:
      'inadequate initial resection or any R1/R2 result (and, locally, any local recurrence): high-grade schedule whatever the grade',
    evidence: '[2]',
  },
  {
    id: 'R-SURV-OVERDUE',
    section: 'surveillance',
    summary:
      'an item past its window opens a navigator task surveillance-overdue; still overdue 14 days later, it escalates to the navigator lead',
    config: ['surveillanceOverdue'],
  },
  {
    id: 'R-IMAGING-SUSPICIOUS',
    section: 'tasks',
    summary: 'suspicious imaging finding: MDT review, high, due 7 days',
    config: ['tasks.suspiciousImaging'],
    local: true,
  },
  {
    id: 'R-UNEXPECTED',
    section: 'safety',
    summary:
      'an event that does not fit the current state is recorded and opens a data-quality-review task; it is never dropped',
    config: ['tasks.dataQualityReview'],
  },
  {
    id: 'R-CORRECTED-REPORT',
    section: 'safety',
    summary:
      'a corrected pathology report (same report id) supersedes the earlier result and re-runs the rules, with an audit link',
  },
  {
    id: 'R-PATH-ABSTRACTION',
    section: 'safety',
    summary:
      'a pathology report whose margin, grade, size, depth or histology is not coded (HL7 v2, FHIR): kept, and a data-quality-review task asks a person to abstract it; never guessed from free text',
    config: ['tasks.dataQualityReview'],
    local: true,
  },
  {
    id: 'R-LATE-EVENT',
    section: 'safety',
    summary:
      'an event that arrives after a clinically later one: state rebuilt in clinical order; data-quality-review task',
    config: ['tasks.dataQualityReview'],
    local: true,
  },
] as const satisfies readonly Rule[];

export type KnownRuleId = (typeof RULES)[number]['id'];

export const RULE_IDS: ReadonlySet<string> = new Set(RULES.map((r) => r.id));
