import type { ClinicalEvent } from '@app/contracts';
import type { PathwayConfig, PeriodWindows } from './config';
import { addDays, addMonths, monthsFrom, toIso } from './dates';
import type { Effect, RuleId, SurveillanceItem, SurveillanceItemKind } from './model';

export interface SurveillancePlan {
  /** End of definitive treatment, or the recurrence date for the intensified plan. */
  anchorAt: string;
  schedule: 'high-grade' | 'low-grade';
  /** R-SURV-START, or R-LR-ESCALATE for the intensified plan. */
  ruleId: RuleId;
  items: SurveillanceItem[];
}

interface Track {
  kind: SurveillanceItemKind;
  ruleId: RuleId;
  windows: PeriodWindows;
  modality?: SurveillanceItem['modality'];
  region?: SurveillanceItem['region'];
}

function tracks(schedule: 'high-grade' | 'low-grade', config: PathwayConfig): Track[] {
  const s = config.surveillance;
  const chest = { modality: s.chestModality, region: 'chest' as const };
  const mri: Track = {
    kind: 'primary-site-mri',
    ruleId: 'R-SURV-MRI',
    windows: s.primarySiteMri,
    modality: 'MRI',
    region: 'primary-site',
  };
  return schedule === 'high-grade'
    ? [
        { kind: 'clinic-visit', ruleId: 'R-SURV-HG-VISIT', windows: s.highGradeVisit },
        { kind: 'chest-imaging', ruleId: 'R-SURV-HG-CHEST', windows: s.highGradeChest, ...chest },
        mri,
      ]
    : [
        { kind: 'clinic-visit', ruleId: 'R-SURV-LG-VISIT', windows: s.lowGradeVisit },
        { kind: 'chest-imaging', ruleId: 'R-SURV-LG-CHEST', windows: s.lowGradeChest, ...chest },
        mri,
      ];
}

/**
 * The surveillance plan of section 3. Each item is due `minMonths` after the previous item of its kind (the
 * first after the anchor) and overdue after `maxMonths`; the interval is that of the period the previous item
 * fell in (years 0–3, 3–5, 5–10). Items are keyed by the anchor event so a replay gives the same keys.
 *
 * `until` (ISO): only the items due up to then (the plan's beginning, as `itemsDueBetween(plan, null, until)`
 * would give it): writing the plan ahead needs the next items, not the ten years.
 */
export function surveillancePlan(
  anchorEventId: string,
  anchorAt: string,
  schedule: 'high-grade' | 'low-grade',
  ruleId: RuleId,
  config: PathwayConfig,
  until?: string,
): SurveillancePlan {
  const [end03, end35, endAll] = config.surveillance.periodsEndMonths;
  const anchor = toIso(anchorAt);
  const plus = monthsFrom(anchor);
  const items: SurveillanceItem[] = [];
  for (const track of tracks(schedule, config)) {
    let previous = 0;
    for (let n = 1; ; n += 1) {
      const window = track.windows[previous < end03 ? 0 : previous < end35 ? 1 : 2];
      const due = previous + window.minMonths;
      if (due > endAll) break;
      const dueAt = plus(due);
      // due dates only grow along a track: the rest of it is later still
      if (until !== undefined && dueAt > until) break;
      items.push({
        key: `${anchorEventId}.${track.ruleId}.${n}`,
        kind: track.kind,
        ruleId: track.ruleId,
        ...(track.modality ? { modality: track.modality } : {}),
        ...(track.region ? { region: track.region } : {}),
        dueAt,
        overdueAt: plus(previous + window.maxMonths),
      });
      previous = due;
    }
  }
  items.sort((a, b) => a.dueAt.localeCompare(b.dueAt) || a.key.localeCompare(b.key));
  return { anchorAt: anchor, schedule, ruleId, items };
}

/** The horizon up to which a plan's items are written: `materializeMonthsAhead` past the later of the two dates. */
export function materializationHorizon(anchorAt: string, latestAt: string, config: PathwayConfig): string {
  const anchor = toIso(anchorAt);
  const latest = toIso(latestAt);
  const from = anchor > latest ? anchor : latest;
  return addMonths(from, config.surveillance.materializeMonthsAhead);
}

/** The plan's items due after `after` (exclusive; null = from the start) and up to `until` (inclusive). */
export function itemsDueBetween(plan: SurveillancePlan, after: string | null, until: string): SurveillanceItem[] {
  return plan.items.filter((item) => (after === null || item.dueAt > after) && item.dueAt <= until);
}

const ITEM_WORDS: Record<SurveillanceItemKind, string> = {
  'clinic-visit': 'surveillance clinic visit',
  'chest-imaging': 'surveillance chest imaging',
  'primary-site-mri': 'surveillance MRI of the primary site',
};

/** R-SURV-OVERDUE: when a still-overdue item escalates to the navigator lead. */
export function overdueEscalationAt(item: SurveillanceItem, config: PathwayConfig): string {
  return addDays(item.overdueAt, config.surveillanceOverdue.escalateAfterDays);
}

export function isOverdue(item: SurveillanceItem, now: Date): boolean {
  return now.getTime() > Date.parse(item.overdueAt);
}

/**
 * R-SURV-OVERDUE: the navigator task for an item past its window, for the sweeper or timer to hand to the store.
 * Keyed by the item, so a second sweep opens nothing twice; due when it would escalate to the navigator lead.
 */
export function surveillanceOverdueTask(
  item: SurveillanceItem,
  config: PathwayConfig,
): Extract<Effect, { kind: 'open-task' }> {
  return {
    kind: 'open-task',
    taskKey: `${item.key}:surveillance-overdue`,
    type: 'surveillance-overdue',
    priority: config.surveillanceOverdue.priority,
    ruleId: 'R-SURV-OVERDUE',
    dueAt: overdueEscalationAt(item, config),
    reason: `${ITEM_WORDS[item.kind]} not done by the end of its window (${item.ruleId}): contact the patient to rebook (R-SURV-OVERDUE)`,
    ...(item.modality ? { modality: item.modality } : {}),
    ...(item.region ? { region: item.region } : {}),
  };
}

/** When the order for an item is opened: `orderLeadDays` before it is due. */
export function orderAt(item: SurveillanceItem, config: PathwayConfig): string {
  return addDays(item.dueAt, -config.surveillance.orderLeadDays);
}

/**
 * The task that gets a surveillance item booked, opened `orderLeadDays` before it is due: an imaging order for a
 * scan, a visit reminder for a clinic visit. Keyed by the item, so a second sweep opens nothing twice; due when
 * the item is due; cites the item's own rule (R-SURV-HG-CHEST, ...).
 */
export function surveillanceOrderTask(item: SurveillanceItem): Extract<Effect, { kind: 'open-task' }> {
  const imaging = item.kind !== 'clinic-visit';
  return {
    kind: 'open-task',
    taskKey: `${item.key}:order`,
    type: imaging ? 'imaging-order' : 'visit-reminder',
    priority: 'routine',
    ruleId: item.ruleId,
    dueAt: item.dueAt,
    reason: `${ITEM_WORDS[item.kind]} due: ${imaging ? 'order the scan' : 'book the visit'} (${item.ruleId})`,
    ...(item.modality ? { modality: item.modality } : {}),
    ...(item.region ? { region: item.region } : {}),
  };
}

/**
 * What a clinic visit or an imaging result does to the plan in force: the earliest open item of its kind due by
 * `fulfilWithinDays` after the event is done. Null when the event fulfils no kind of item (other regions, CT of
 * the primary site) or no plan is in force.
 */
export function surveillanceFulfilment(
  plan: { schedule: 'high-grade' | 'low-grade' } | null,
  event: ClinicalEvent,
  config: PathwayConfig,
): Extract<Effect, { kind: 'fulfil-surveillance' }> | null {
  const itemKind = plan ? itemKindOf(event) : null;
  if (!plan || !itemKind) return null;
  const track = tracks(plan.schedule, config).find((t) => t.kind === itemKind);
  const doneAt = toIso(event.occurredAt);
  return {
    kind: 'fulfil-surveillance',
    ruleId: track ? track.ruleId : 'R-SURV-START',
    itemKind,
    doneAt,
    dueBy: addDays(doneAt, config.surveillance.fulfilWithinDays),
  };
}

function itemKindOf(event: ClinicalEvent): SurveillanceItemKind | null {
  if (event.type === 'clinic.visited') return 'clinic-visit';
  if (event.type !== 'imaging.reported') return null;
  if (event.payload.region === 'chest') return 'chest-imaging';
  return event.payload.region === 'primary-site' && event.payload.modality === 'MRI' ? 'primary-site-mri' : null;
}
