import type { PathwayConfig, PeriodWindows } from './config';
import { addMonths, toIso } from './dates';
import type { RuleId, SurveillanceItem, SurveillanceItemKind } from './model';

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
 */
export function surveillancePlan(
  anchorEventId: string,
  anchorAt: string,
  schedule: 'high-grade' | 'low-grade',
  ruleId: RuleId,
  config: PathwayConfig,
): SurveillancePlan {
  const [end03, end35, endAll] = config.surveillance.periodsEndMonths;
  const anchor = toIso(anchorAt);
  const items: SurveillanceItem[] = [];
  for (const track of tracks(schedule, config)) {
    let previous = 0;
    for (let n = 1; ; n += 1) {
      const window = track.windows[previous < end03 ? 0 : previous < end35 ? 1 : 2];
      const due = previous + window.minMonths;
      if (due > endAll) break;
      items.push({
        key: `${anchorEventId}.${track.ruleId}.${n}`,
        kind: track.kind,
        ruleId: track.ruleId,
        ...(track.modality ? { modality: track.modality } : {}),
        ...(track.region ? { region: track.region } : {}),
        dueAt: addMonths(anchor, due),
        overdueAt: addMonths(anchor, previous + window.maxMonths),
      });
      previous = due;
    }
  }
  items.sort((a, b) => a.dueAt.localeCompare(b.dueAt) || a.key.localeCompare(b.key));
  return { anchorAt: anchor, schedule, ruleId, items };
}
