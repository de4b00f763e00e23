import { DEFAULT_PATHWAY_CONFIG } from './config';
import {
  isOverdue,
  orderAt,
  surveillanceFulfilment,
  surveillanceOrderTask,
  overdueEscalationAt,
  surveillanceOverdueTask,
  surveillancePlan,
} from './surveillance';
import { ev } from './testing';

const ANCHOR = '2025-01-15T10:00:00Z';
const plan = (schedule: 'high-grade' | 'low-grade', config = DEFAULT_PATHWAY_CONFIG) =>
  surveillancePlan('anchor', ANCHOR, schedule, 'R-SURV-START', config);
const track = (schedule: 'high-grade' | 'low-grade', ruleId: string) =>
  plan(schedule)
    .items.filter((i) => i.ruleId === ruleId)
    .map((i) => `${i.dueAt.slice(0, 10)}..${i.overdueAt.slice(0, 10)}`);

describe('surveillance plan (section 3)', () => {
  it('up to a date: the beginning of the whole plan, the same items in the same order', () => {
    const full = plan('high-grade');
    for (const until of ['2025-01-01T00:00:00.000Z', '2025-07-15T10:00:00.000Z', '2027-03-01T00:00:00.000Z']) {
      const upTo = surveillancePlan('anchor', ANCHOR, 'high-grade', 'R-SURV-START', DEFAULT_PATHWAY_CONFIG, until);
      expect(upTo).toEqual({ ...full, items: full.items.filter((i) => i.dueAt <= until) });
    }
  });

  it('R-SURV-HG-VISIT: every 3–4 months to year 3, 6 months to year 5, 12 months to year 10', () => {
    const visits = track('high-grade', 'R-SURV-HG-VISIT');
    expect(visits.slice(0, 2)).toEqual(['2025-04-15..2025-05-15', '2025-07-15..2025-08-15']);
    expect(visits[11]).toBe('2028-01-15..2028-02-15'); // the 12th, at 36 months
    expect(visits[12]).toBe('2028-07-15..2028-08-15'); // then 6-monthly, window of one month
    expect(visits[16]).toBe('2031-01-15..2031-03-15'); // from year 5, yearly with a two-month window
    expect(visits[visits.length - 1]).toBe('2035-01-15..2035-03-15'); // ends at 10 years
    expect(visits).toHaveLength(12 + 4 + 5);
  });

  it('R-SURV-HG-CHEST: chest CT by default on the same intervals; X-ray where the centre chooses it', () => {
    const chest = plan('high-grade').items.filter((i) => i.ruleId === 'R-SURV-HG-CHEST');
    expect(chest).toHaveLength(21);
    expect(chest[0]).toMatchObject({ kind: 'chest-imaging', modality: 'CT', region: 'chest' });
    const xray = plan('high-grade', {
      ...DEFAULT_PATHWAY_CONFIG,
      surveillance: { ...DEFAULT_PATHWAY_CONFIG.surveillance, chestModality: 'XR' },
    });
    expect(xray.items.find((i) => i.ruleId === 'R-SURV-HG-CHEST')?.modality).toBe('XR');
  });

  it('R-SURV-MRI: primary-site MRI every 6 months to year 3, then yearly', () => {
    const mri = track('low-grade', 'R-SURV-MRI');
    expect(mri.slice(0, 2)).toEqual(['2025-07-15..2025-08-15', '2026-01-15..2026-02-15']);
    expect(mri).toHaveLength(6 + 2 + 5);
    expect(plan('high-grade').items.filter((i) => i.ruleId === 'R-SURV-MRI')).toHaveLength(13);
  });

  it('R-SURV-LG-VISIT: every 4–6 months to year 3, 6–12 to year 5, 12 to year 10', () => {
    const visits = track('low-grade', 'R-SURV-LG-VISIT');
    expect(visits.slice(0, 2)).toEqual(['2025-05-15..2025-07-15', '2025-09-15..2025-11-15']);
    expect(visits[8]).toBe('2028-01-15..2028-03-15'); // the 9th, at 36 months
    expect(visits[9]).toBe('2028-07-15..2029-01-15'); // then every 6–12 months
    expect(visits[visits.length - 1]).toBe('2035-01-15..2035-03-15');
    expect(visits).toHaveLength(9 + 4 + 5);
  });

  it('R-SURV-LG-CHEST: every 6–12 months to year 3, then yearly', () => {
    const chest = track('low-grade', 'R-SURV-LG-CHEST');
    expect(chest.slice(0, 2)).toEqual(['2025-07-15..2026-01-15', '2026-01-15..2026-07-15']);
    expect(chest).toHaveLength(6 + 2 + 5);
  });

  it('keys are deterministic and unique, and items come in due order', () => {
    const a = plan('high-grade');
    expect(plan('high-grade')).toEqual(a);
    expect(new Set(a.items.map((i) => i.key)).size).toBe(a.items.length);
    expect(a.items.map((i) => i.dueAt)).toEqual([...a.items.map((i) => i.dueAt)].sort());
    expect(a.items.every((i) => i.overdueAt > i.dueAt)).toBe(true);
  });

  it('clamps to the end of the month', () => {
    const p = surveillancePlan('a', '2025-11-30T00:00:00Z', 'high-grade', 'R-SURV-START', DEFAULT_PATHWAY_CONFIG);
    expect(p.items[0].dueAt).toBe('2026-02-28T00:00:00.000Z');
  });
});

describe('overdue items (R-SURV-OVERDUE)', () => {
  const [first] = plan('high-grade').items.filter((i) => i.ruleId === 'R-SURV-HG-CHEST');

  it('R-SURV-OVERDUE: overdue after the window ends; the navigator task escalates 14 days later', () => {
    expect(first.overdueAt).toBe('2025-05-15T10:00:00.000Z');
    expect(isOverdue(first, new Date('2025-05-15T10:00:00Z'))).toBe(false);
    expect(isOverdue(first, new Date('2025-05-15T10:00:01Z'))).toBe(true);
    expect(overdueEscalationAt(first, DEFAULT_PATHWAY_CONFIG)).toBe('2025-05-29T10:00:00.000Z');
    const task = surveillanceOverdueTask(first, DEFAULT_PATHWAY_CONFIG);
    expect(task).toMatchObject({
      kind: 'open-task',
      taskKey: `${first.key}:surveillance-overdue`,
      type: 'surveillance-overdue',
      priority: 'high',
      ruleId: 'R-SURV-OVERDUE',
      dueAt: '2025-05-29T10:00:00.000Z',
      modality: 'CT',
      region: 'chest',
    });
    const later = {
      ...DEFAULT_PATHWAY_CONFIG,
      surveillanceOverdue: { priority: 'routine' as const, escalateAfterDays: 7 },
    };
    expect(surveillanceOverdueTask(first, later)).toMatchObject({
      priority: 'routine',
      dueAt: '2025-05-22T10:00:00.000Z',
    });
  });

  it('a visit or a surveillance scan fulfils the earliest open item of its kind due within the window', () => {
    const visit = ev('clinic.visited', '2025-04-20T10:00:00Z', { visitedAt: '2025-04-20T10:00:00Z' });
    expect(surveillanceFulfilment({ schedule: 'high-grade' }, visit, DEFAULT_PATHWAY_CONFIG)).toEqual({
      kind: 'fulfil-surveillance',
      ruleId: 'R-SURV-HG-VISIT',
      itemKind: 'clinic-visit',
      doneAt: '2025-04-20T10:00:00.000Z',
      dueBy: '2025-05-20T10:00:00.000Z',
    });
    expect(surveillanceFulfilment({ schedule: 'low-grade' }, visit, DEFAULT_PATHWAY_CONFIG)?.ruleId).toBe(
      'R-SURV-LG-VISIT',
    );
    const mri = ev('imaging.reported', '2025-07-20T10:00:00Z', {
      modality: 'MRI',
      region: 'primary-site',
      finding: 'no-evidence-of-disease',
    });
    expect(surveillanceFulfilment({ schedule: 'low-grade' }, mri, DEFAULT_PATHWAY_CONFIG)).toMatchObject({
      itemKind: 'primary-site-mri',
      ruleId: 'R-SURV-MRI',
    });
    const chestXr = ev('imaging.reported', '2025-07-20T10:00:00Z', {
      modality: 'XR',
      region: 'chest',
      finding: 'no-evidence-of-disease',
    });
    expect(surveillanceFulfilment({ schedule: 'high-grade' }, chestXr, DEFAULT_PATHWAY_CONFIG)?.itemKind).toBe(
      'chest-imaging',
    );
    const other = ev('imaging.reported', '2025-07-20T10:00:00Z', {
      modality: 'US',
      region: 'other',
      finding: 'suspicious',
    });
    expect(surveillanceFulfilment({ schedule: 'high-grade' }, other, DEFAULT_PATHWAY_CONFIG)).toBeNull();
    expect(surveillanceFulfilment(null, visit, DEFAULT_PATHWAY_CONFIG)).toBeNull();
  });

  it('orders each item ahead of its window: an imaging order for a scan, a visit reminder for a visit', () => {
    const items = plan('high-grade').items;
    const visit = items.find((i) => i.kind === 'clinic-visit')!;
    const chest = items.find((i) => i.kind === 'chest-imaging')!;
    expect(orderAt(visit, DEFAULT_PATHWAY_CONFIG)).toBe('2025-04-01T10:00:00.000Z');
    expect(surveillanceOrderTask(visit)).toMatchObject({
      type: 'visit-reminder',
      ruleId: 'R-SURV-HG-VISIT',
      taskKey: `${visit.key}:order`,
      dueAt: visit.dueAt,
    });
    expect(surveillanceOrderTask(chest)).toMatchObject({
      type: 'imaging-order',
      ruleId: 'R-SURV-HG-CHEST',
      modality: 'CT',
      region: 'chest',
    });
  });
});
