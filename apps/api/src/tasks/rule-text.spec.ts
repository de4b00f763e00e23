import { RULES } from '@app/pathway';
import { RULE_VIEWS, plainEvidence } from './rule-text';

describe('plainEvidence', () => {
  it('spells out the R-LR-ESCALATE evidence: local recurrence raises the risk of distant metastasis 8.4-fold', () => {
    const rule = RULE_VIEWS.find((r) => r.id === 'R-LR-ESCALATE');
    expect(rule).toMatchObject({
      evidence: '[1] LR -> DM HR 8.4, LR -> death HR 3.4',
      evidenceText: [
        'local recurrence raises the risk of distant metastasis 8.4-fold',
        'local recurrence raises the risk of death 3.4-fold',
      ],
      references: ['1'],
    });
  });

  it('reads R-DM, a note that is only a reference, no note, and keeps what it cannot read as written', () => {
    expect(RULE_VIEWS.find((r) => r.id === 'R-DM')?.evidenceText).toEqual([
      'distant metastasis raises the risk of death 12.6-fold',
    ]);
    expect(plainEvidence('[3]')).toEqual({ evidenceText: [], references: ['3'] });
    expect(plainEvidence(undefined)).toEqual({ evidenceText: [], references: [] });
    expect(plainEvidence('[2] 33% distant metastasis')).toEqual({
      evidenceText: ['33% distant metastasis'],
      references: ['2'],
    });
  });

  it('covers every rule of the table, in its order, with the summary as the table words it', () => {
    expect(RULE_VIEWS.map((r) => r.id)).toEqual(RULES.map((r) => r.id));
    expect(RULE_VIEWS.map((r) => r.summary)).toEqual(RULES.map((r) => r.summary));
  });
});
