import { DEFAULT_PATHWAY_CONFIG } from '@app/pathway';
import { dueEscalation, nextStep, type EscalatingTask } from './escalation';

const urgent = (over: Partial<EscalatingTask> = {}): EscalatingTask => ({
  type: 'mdt-review',
  status: 'requested',
  escalate: true,
  createdAt: '2030-06-01T08:00:00.000Z',
  dueAt: '2030-06-03T08:00:00.000Z',
  acceptedAt: null,
  escalationLevel: 0,
  ...over,
});
const at = (iso: string) => new Date(iso);

describe('escalation (R-LR-ESCALATE step 5, R-SURV-OVERDUE)', () => {
  it('R-LR-ESCALATE: unaccepted at 24 h → navigator lead; at 48 h → clinical lead; then the chain ends', () => {
    expect(dueEscalation(urgent(), at('2030-06-02T07:59:59Z'), DEFAULT_PATHWAY_CONFIG)).toBeNull();
    expect(dueEscalation(urgent(), at('2030-06-02T08:00:00Z'), DEFAULT_PATHWAY_CONFIG)).toEqual({
      level: 1,
      recipient: 'navigator-lead',
      ruleId: 'R-LR-ESCALATE',
      dueAt: '2030-06-02T08:00:00.000Z',
      afterHours: 24,
    });
    const level1 = urgent({ escalationLevel: 1 });
    expect(dueEscalation(level1, at('2030-06-03T07:00:00Z'), DEFAULT_PATHWAY_CONFIG)).toBeNull();
    expect(dueEscalation(level1, at('2030-06-03T08:00:00Z'), DEFAULT_PATHWAY_CONFIG)?.recipient).toBe('clinical-lead');
    expect(nextStep(urgent({ escalationLevel: 2 }), DEFAULT_PATHWAY_CONFIG)).toBeNull();
  });

  it('R-LR-ESCALATE: accepting stops the chain, even if the task is later put on hold', () => {
    const accepted = urgent({ status: 'on-hold', acceptedAt: '2030-06-01T09:00:00Z' });
    expect(dueEscalation(accepted, at('2030-06-05T00:00:00Z'), DEFAULT_PATHWAY_CONFIG)).toBeNull();
    expect(
      dueEscalation(urgent({ status: 'cancelled' }), at('2030-06-05T00:00:00Z'), DEFAULT_PATHWAY_CONFIG),
    ).toBeNull();
  });

  it('the SLA hours are configuration', () => {
    const config = { ...DEFAULT_PATHWAY_CONFIG, escalation: { navigatorLeadAfterHours: 4, clinicalLeadAfterHours: 8 } };
    expect(dueEscalation(urgent(), at('2030-06-01T12:00:00Z'), config)?.afterHours).toBe(4);
  });

  it('R-SURV-OVERDUE: a still-open overdue task escalates once to the navigator lead when it falls due', () => {
    const overdue = urgent({ type: 'surveillance-overdue', escalate: false, dueAt: '2030-07-01T00:00:00.000Z' });
    expect(dueEscalation(overdue, at('2030-06-30T00:00:00Z'), DEFAULT_PATHWAY_CONFIG)).toBeNull();
    expect(dueEscalation(overdue, at('2030-07-01T00:00:00Z'), DEFAULT_PATHWAY_CONFIG)).toMatchObject({
      level: 1,
      recipient: 'navigator-lead',
      ruleId: 'R-SURV-OVERDUE',
    });
    expect(nextStep({ ...overdue, escalationLevel: 1 }, DEFAULT_PATHWAY_CONFIG)).toBeNull();
    // found overdue late (backfill): the navigator still gets 14 days before the lead is told
    const late = { ...overdue, createdAt: '2030-07-10T00:00:00.000Z' };
    expect(dueEscalation(late, at('2030-07-20T00:00:00Z'), DEFAULT_PATHWAY_CONFIG)).toBeNull();
    expect(dueEscalation(late, at('2030-07-24T00:00:00Z'), DEFAULT_PATHWAY_CONFIG)?.dueAt).toBe(
      '2030-07-24T00:00:00.000Z',
    );
    // an ordinary task never escalates
    expect(nextStep(urgent({ escalate: false }), DEFAULT_PATHWAY_CONFIG)).toBeNull();
  });
});
