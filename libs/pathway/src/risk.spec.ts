import { riskProfile, surveillanceSchedule } from './risk';

const base = {
  grade: 1 as const,
  sizeCm: 3,
  depth: 'superficial' as const,
  margin: 'R0' as const,
  unplannedExcision: false,
  anyPositiveMargin: false,
  localRecurrence: false,
};

describe('risk profile (section 1)', () => {
  it('R-RISK-GRADE: grade 2 and 3 are high grade, grade 1 low', () => {
    expect(riskProfile({ ...base, grade: 1 }).highGrade).toBe(false);
    expect(riskProfile({ ...base, grade: 2 }).highGrade).toBe(true);
    expect(riskProfile({ ...base, grade: 3 }).highGrade).toBe(true);
  });

  it('R-RISK-SIZE: larger than 5 cm is a risk factor (5 cm is not)', () => {
    expect(riskProfile({ ...base, sizeCm: 5 }).largerThan5cm).toBe(false);
    expect(riskProfile({ ...base, sizeCm: 5.1 }).largerThan5cm).toBe(true);
  });

  it('R-RISK-DEPTH: deep is a risk factor', () => {
    expect(riskProfile({ ...base, depth: 'deep' }).deep).toBe(true);
    expect(riskProfile(base).deep).toBe(false);
  });

  it('R-RISK-HIGH: high grade AND deep AND > 5 cm, and only then', () => {
    const all = { ...base, grade: 2 as const, depth: 'deep' as const, sizeCm: 6 };
    expect(riskProfile(all)).toMatchObject({ highRisk: true, ruleIds: expect.arrayContaining(['R-RISK-HIGH']) });
    expect(riskProfile({ ...all, grade: 1 }).highRisk).toBe(false);
    expect(riskProfile({ ...all, depth: 'superficial' }).highRisk).toBe(false);
    expect(riskProfile({ ...all, sizeCm: 5 }).highRisk).toBe(false);
  });

  it('R-RISK-MARGIN: the margin is part of the profile', () => {
    expect(riskProfile({ ...base, margin: 'R2' }).margin).toBe('R2');
  });

  it('R-RISK-UNPLANNED: an unplanned excision is an inadequate initial resection', () => {
    expect(riskProfile({ ...base, unplannedExcision: true })).toMatchObject({
      inadequateInitialResection: true,
      ruleIds: expect.arrayContaining(['R-RISK-UNPLANNED']),
    });
  });

  it('R-SURV-HG-SCHEDULE: inadequate resection, any R1/R2 or a local recurrence put a low-grade tumour on the high-grade schedule', () => {
    expect(surveillanceSchedule(1, base)).toBe('low-grade');
    expect(surveillanceSchedule(1, { ...base, unplannedExcision: true })).toBe('high-grade');
    expect(surveillanceSchedule(1, { ...base, anyPositiveMargin: true })).toBe('high-grade');
    expect(surveillanceSchedule(1, { ...base, localRecurrence: true })).toBe('high-grade');
    expect(surveillanceSchedule(null, base)).toBe('high-grade');
  });
});
