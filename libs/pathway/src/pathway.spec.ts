import type { ClinicalEvent } from '@app/contracts';
import { DEFAULT_PATHWAY_CONFIG } from './config';
import { surveillancePlan } from './surveillance';
import type { Effect } from './model';
import { createPathway, initialState, type PatientState, riskOf } from './pathway';
import { ev, highRisk, mdt, pathology, registered, surgery } from './testing';

const pathway = createPathway();
const NOW = new Date('2026-01-01T00:00:00Z');

function run(events: ClinicalEvent[]): { state: PatientState; effects: Effect[][] } {
  let state = initialState();
  const effects: Effect[][] = [];
  for (const e of events) {
    effects.push(pathway.decide(state, e, NOW).effects);
    state = pathway.evolve(state, e);
  }
  return { state, effects };
}

/** The effects of the last event, after the others. */
function last(events: ClinicalEvent[]) {
  const { state, effects } = run(events);
  return { state, effects: effects[effects.length - 1] };
}

const tasks = (effects: Effect[]) =>
  effects.filter((e): e is Extract<Effect, { kind: 'open-task' }> => e.kind === 'open-task');
const ofKind = <K extends Effect['kind']>(effects: Effect[], kind: K) =>
  effects.filter((e): e is Extract<Effect, { kind: K }> => e.kind === kind);
const summary = (effects: Effect[]) =>
  tasks(effects).map((t) => `${t.type}/${t.ruleId}/${t.priority}/${t.dueAt.slice(0, 10)}`);

describe('registration and surgery', () => {
  it('R-PATH-ENTRY: registration opens the pathway awaiting surgery', () => {
    const { state, effects } = last([registered()]);
    expect(state.pathway).toBe('awaiting-surgery');
    expect(state.registered).toBe(true);
    expect(effects).toEqual([]);
  });

  it('R-PATH-SURGERY: a planned resection awaits its pathology', () => {
    const { state, effects } = last([registered(), surgery('wide-excision')]);
    expect(state.pathway).toBe('awaiting-pathology');
    expect(effects).toContainEqual({
      kind: 'transition',
      from: 'awaiting-surgery',
      to: 'awaiting-pathology',
      ruleId: 'R-PATH-SURGERY',
    });
  });

  it('R-UNPLANNED: an unplanned excision opens re-excision review, MDT review and a primary-site MRI, high, due 7 days', () => {
    const { state, effects } = last([registered(), surgery('unplanned-excision', '2025-03-03T08:00:00Z')]);
    expect(state.pathway).toBe('re-excision-review');
    expect(summary(effects).sort()).toEqual([
      'imaging-order/R-UNPLANNED/high/2025-03-10',
      'mdt-review/R-UNPLANNED/high/2025-03-10',
      're-excision-review/R-UNPLANNED/high/2025-03-10',
    ]);
    expect(tasks(effects).find((t) => t.type === 'imaging-order')).toMatchObject({
      modality: 'MRI',
      region: 'primary-site',
    });
  });

  it('R-UNPLANNED: a clear margin on the unplanned specimen keeps the re-excision review open', () => {
    const { state } = last([registered(), surgery('unplanned-excision'), pathology({ margin: 'R0' })]);
    expect(state.pathway).toBe('re-excision-review');
    expect(riskOf(state)?.inadequateInitialResection).toBe(true);
  });
});

describe('pathology results (section 2)', () => {
  const before = [registered(), surgery('marginal-excision')];

  it('R-MARGIN-R1: R1 opens re-excision review and MDT review, high, due 7 days', () => {
    const { state, effects } = last([...before, pathology({ margin: 'R1' }, '2025-02-10T12:00:00Z')]);
    expect(state.pathway).toBe('re-excision-review');
    expect(summary(effects)).toEqual(
      expect.arrayContaining([
        're-excision-review/R-MARGIN-R1/high/2025-02-17',
        'mdt-review/R-MARGIN-R1/high/2025-02-17',
      ]),
    );
    expect(tasks(effects).find((t) => t.type === 're-excision-review')?.reason).toBe(
      'R1 margin on report RPT-1: re-excision review (R-MARGIN-R1)',
    );
  });

  it('R-MARGIN-R2: R2 opens the same tasks as urgent, due 2 days', () => {
    const { effects } = last([...before, pathology({ margin: 'R2' }, '2025-02-10T12:00:00Z')]);
    expect(summary(effects)).toEqual(
      expect.arrayContaining([
        're-excision-review/R-MARGIN-R2/urgent/2025-02-12',
        'mdt-review/R-MARGIN-R2/urgent/2025-02-12',
      ]),
    );
  });

  it('R-MDT-NEW: the first pathology result opens a routine MDT review due in 14 days; a later report does not', () => {
    const first = last([...before, pathology({ margin: 'R1' }, '2025-02-10T12:00:00Z')]);
    expect(summary(first.effects)).toContain('mdt-review/R-MDT-NEW/routine/2025-02-24');
    const second = last([
      ...before,
      pathology({ margin: 'R1' }),
      mdt('re-excise'),
      surgery('re-excision', '2025-03-10T08:00:00Z'),
      pathology({ reportId: 'RPT-2' }, '2025-03-17T08:00:00Z'),
    ]);
    expect(tasks(second.effects).map((t) => t.ruleId)).not.toContain('R-MDT-NEW');
  });

  it('R-RT-EVAL: a high-risk tumour with a clear margin and no radiotherapy opens an adjuvant radiotherapy evaluation, high, due 14 days', () => {
    const { state, effects } = last([...before, pathology({ ...highRisk }, '2025-02-10T12:00:00Z')]);
    expect(state.pathway).toBe('adjuvant-evaluation');
    expect(summary(effects)).toContain('radiotherapy-evaluation/R-RT-EVAL/high/2025-02-24');
  });

  it('R-RT-EVAL: not when radiotherapy was recorded (neoadjuvant)', () => {
    const neoadjuvant = ev('radiotherapy.completed', '2025-01-20T00:00:00Z', {
      completedAt: '2025-01-20T00:00:00Z',
      setting: 'neoadjuvant',
    });
    const { state, effects } = last([registered(), neoadjuvant, surgery('wide-excision'), pathology({ ...highRisk })]);
    expect(tasks(effects).map((t) => t.ruleId)).not.toContain('R-RT-EVAL');
    expect(state.pathway).toBe('surveillance');
  });

  it('R-RT-EVAL: not for a tumour that is not high-risk (grade 1, or superficial, or <= 5 cm)', () => {
    for (const over of [
      { ...highRisk, grade: 1 as const },
      { ...highRisk, depth: 'superficial' as const },
      { ...highRisk, sizeCm: 5 },
    ]) {
      const { state } = last([...before, pathology(over)]);
      expect(state.pathway).toBe('surveillance');
    }
  });
});

describe('MDT decisions close the re-excision review (R-MDT-DECISION)', () => {
  const r1 = [registered(), surgery('marginal-excision'), pathology({ margin: 'R1', grade: 1 })];

  it('re-excise: back to awaiting surgery, review completed', () => {
    const { state, effects } = last([...r1, mdt('re-excise')]);
    expect(state.pathway).toBe('awaiting-surgery');
    expect(ofKind(effects, 'close-tasks')).toContainEqual(
      expect.objectContaining({ types: ['re-excision-review'], outcome: 'completed' }),
    );
  });

  it('no-re-excision, tumour not high-risk: definitive treatment complete, surveillance on the high-grade schedule', () => {
    const { state, effects } = last([...r1, mdt('no-re-excision', '2025-02-20T12:00:00Z')]);
    expect(state.pathway).toBe('surveillance');
    expect(ofKind(effects, 'close-tasks')).toContainEqual(
      expect.objectContaining({ types: ['re-excision-review'], outcome: 'completed', ruleId: 'R-MDT-DECISION' }),
    );
    expect(ofKind(effects, 'plan-surveillance')[0]).toMatchObject({
      anchorAt: '2025-02-20T12:00:00.000Z',
      schedule: 'high-grade',
    });
  });

  it('R-RT-EVAL: no-re-excision for a high-risk tumour with no radiotherapy recorded goes on to radiotherapy evaluation', () => {
    const high = [registered(), surgery('marginal-excision'), pathology({ margin: 'R1', ...highRisk })];
    const { state, effects } = last([...high, mdt('no-re-excision')]);
    expect(state.pathway).toBe('adjuvant-evaluation');
    expect(tasks(effects).map((t) => `${t.type}/${t.ruleId}`)).toEqual(['radiotherapy-evaluation/R-RT-EVAL']);
  });

  it('R-RT-EVAL-MARGIN (option, off by default): a centre can evaluate radiotherapy after any accepted positive margin', () => {
    const local = createPathway({ ...DEFAULT_PATHWAY_CONFIG, radiotherapyEvaluationAfterAcceptedPositiveMargin: true });
    let state = r1.reduce((s, e) => local.evolve(s, e), local.initialState());
    const decision = local.decide(state, mdt('no-re-excision'), NOW);
    state = local.evolve(state, mdt('no-re-excision'));
    expect(state.pathway).toBe('adjuvant-evaluation');
    expect(tasks(decision.effects).map((t) => `${t.type}/${t.ruleId}`)).toEqual([
      'radiotherapy-evaluation/R-RT-EVAL-MARGIN',
    ]);
  });
});

describe('surveillance starts when definitive treatment is complete (R-SURV-START)', () => {
  it('R-SURV-START: items are written twelve months ahead; later events move the horizon on, keyed as in the full plan', () => {
    const events = [
      registered(),
      surgery('wide-excision'),
      pathology({ ...highRisk, grade: 2, sizeCm: 4 }, '2025-02-10T12:00:00Z'),
    ];
    const started = last(events);
    const [plan] = ofKind(started.effects, 'plan-surveillance');
    expect(plan.materializedUntil).toBe('2026-02-10T12:00:00.000Z');
    expect(plan.items.map((i) => i.dueAt.slice(0, 7))).toEqual(
      expect.arrayContaining(['2025-05', '2025-08', '2025-11', '2026-02']),
    );
    expect(plan.items.every((i) => i.dueAt <= plan.materializedUntil)).toBe(true);
    const full = surveillancePlan(
      events[2].eventId,
      plan.anchorAt,
      plan.schedule,
      'R-SURV-START',
      DEFAULT_PATHWAY_CONFIG,
    );
    expect(plan.items).toEqual(full.items.filter((i) => i.dueAt <= plan.materializedUntil));

    const visit = ev('clinic.visited', '2025-09-01T09:00:00Z', { visitedAt: '2025-09-01T09:00:00Z' });
    const moved = last([...events, visit]);
    const [extension] = ofKind(moved.effects, 'extend-surveillance');
    expect(extension).toMatchObject({ ruleId: 'R-SURV-START', materializedUntil: '2026-09-01T09:00:00.000Z' });
    expect(extension.items).toEqual(
      full.items.filter((i) => i.dueAt > plan.materializedUntil && i.dueAt <= extension.materializedUntil),
    );
    expect(extension.items.length).toBeGreaterThan(0);
  });

  it('R0, low risk: surveillance on the low-grade schedule from the result date', () => {
    const { state, effects } = last([registered(), surgery('wide-excision'), pathology({}, '2025-02-10T12:00:00Z')]);
    expect(state.pathway).toBe('surveillance');
    const [plan] = ofKind(effects, 'plan-surveillance');
    expect(plan).toMatchObject({ ruleId: 'R-SURV-START', schedule: 'low-grade', anchorAt: '2025-02-10T12:00:00.000Z' });
    expect(new Set(plan.items.map((i) => i.ruleId))).toEqual(
      new Set(['R-SURV-LG-VISIT', 'R-SURV-LG-CHEST', 'R-SURV-MRI']),
    );
    expect(state.surveillance).toMatchObject({
      anchorAt: plan.anchorAt,
      schedule: 'low-grade',
      anchorEventId: plan.items[0].key.split('.')[0],
    });
  });

  it('radiotherapy completed: surveillance anchored at the completion date', () => {
    const completed = ev('radiotherapy.completed', '2025-05-02T00:00:00Z', {
      completedAt: '2025-05-01T16:00:00Z',
      setting: 'adjuvant',
    });
    const { state, effects } = last([
      registered(),
      surgery('wide-excision'),
      pathology({ ...highRisk }),
      mdt('radiotherapy'),
      completed,
    ]);
    expect(state.pathway).toBe('surveillance');
    expect(ofKind(effects, 'plan-surveillance')[0]).toMatchObject({
      anchorAt: '2025-05-01T16:00:00.000Z',
      schedule: 'high-grade',
    });
    expect(ofKind(effects, 'close-tasks')).toContainEqual(
      expect.objectContaining({ types: ['radiotherapy-evaluation'] }),
    );
  });

  it('R-SURV-HG-SCHEDULE: a grade 1 tumour after an R1 result is followed on the high-grade schedule', () => {
    const { effects } = last([
      registered(),
      surgery('marginal-excision'),
      pathology({ margin: 'R1' }),
      mdt('re-excise'),
      surgery('re-excision'),
      pathology({ reportId: 'RPT-2' }, '2025-03-20T00:00:00Z'),
    ]);
    expect(ofKind(effects, 'plan-surveillance')[0].schedule).toBe('high-grade');
  });
});

describe('local recurrence: automated escalation (R-LR-ESCALATE)', () => {
  const inSurveillance = [registered(), surgery('wide-excision'), pathology({}, '2025-02-10T12:00:00Z')];
  const recurrence = ev('recurrence.detected', '2026-03-02T10:00:00Z', { kind: 'local' });

  it('does every step of section 4 in one decision', () => {
    const { state, effects } = last([...inSurveillance, recurrence]);
    expect(state.pathway).toBe('local-recurrence');
    expect(riskOf(state)?.annotations.join(' ')).toMatch(/8\.4.*\[1\]/);
    expect(
      tasks(effects)
        .map((t) => `${t.type}/${t.modality ?? ''}/${t.region ?? ''}/${t.priority}/${t.escalate}`)
        .sort(),
    ).toEqual([
      'imaging-order/CT/chest/urgent/true',
      'imaging-order/MRI/primary-site/urgent/true',
      'mdt-review///urgent/true',
    ]);
    expect(
      ofKind(effects, 'notify')
        .map((n) => `${n.audience}/${n.priority}`)
        .sort(),
    ).toEqual(['care-navigator/urgent', 'care-team/urgent']);
    expect(ofKind(effects, 'notify')[0].taskKeys).toHaveLength(3);
    expect(ofKind(effects, 'cancel-surveillance')).toHaveLength(1);
    const [plan] = ofKind(effects, 'plan-surveillance');
    expect(plan).toMatchObject({
      ruleId: 'R-LR-ESCALATE',
      schedule: 'high-grade',
      anchorAt: '2026-03-02T10:00:00.000Z',
    });
    expect(plan.items[0]).toMatchObject({ dueAt: '2026-06-02T10:00:00.000Z', overdueAt: '2026-07-02T10:00:00.000Z' });
  });

  it('an imaging result showing local recurrence escalates the same way', () => {
    const imaging = ev('imaging.reported', '2026-03-02T10:00:00Z', {
      modality: 'MRI',
      region: 'primary-site',
      finding: 'local-recurrence',
    });
    const { state, effects } = last([...inSurveillance, imaging]);
    expect(state.pathway).toBe('local-recurrence');
    expect(tasks(effects).every((t) => t.ruleId === 'R-LR-ESCALATE' && t.escalate)).toBe(true);
  });

  it('the intensified plan runs on through re-treatment until the new plan replaces it', () => {
    const decided = last([...inSurveillance, recurrence, mdt('re-excise', '2026-03-09T10:00:00Z')]);
    expect(decided.state.pathway).toBe('awaiting-surgery');
    expect(ofKind(decided.effects, 'cancel-surveillance')).toEqual([]);
    expect(decided.state.surveillance).toMatchObject({ ruleId: 'R-LR-ESCALATE', schedule: 'high-grade' });
    const treated = last([
      ...inSurveillance,
      recurrence,
      mdt('re-excise', '2026-03-09T10:00:00Z'),
      surgery('re-excision', '2026-03-20T10:00:00Z'),
      pathology({ reportId: 'RPT-LR' }, '2026-03-27T10:00:00Z'),
    ]);
    expect(ofKind(treated.effects, 'plan-surveillance')[0]).toMatchObject({
      ruleId: 'R-SURV-START',
      schedule: 'high-grade',
    });
  });

  it('R-LR-ESCALATE: a recurrence already escalated and under treatment is not escalated again; a new one after treatment is', () => {
    const staging = ev('imaging.reported', '2026-03-05T10:00:00Z', {
      modality: 'MRI',
      region: 'primary-site',
      finding: 'local-recurrence',
    });
    const again = last([...inSurveillance, recurrence, staging]);
    expect(again.state.pathway).toBe('local-recurrence');
    // no second escalation: only the scan itself is recorded against the (intensified) plan
    expect(again.effects.map((e) => e.kind)).toEqual(['fulfil-surveillance']);
    const treating = [...inSurveillance, recurrence, mdt('re-excise', '2026-03-09T10:00:00Z')];
    expect(
      last([...treating, { ...staging, eventId: 'pre-op-mri', occurredAt: '2026-03-12T10:00:00Z' }]).effects.map(
        (e) => e.kind,
      ),
    ).toEqual(['fulfil-surveillance']);
    const treated = [
      ...treating,
      surgery('re-excision', '2026-03-20T10:00:00Z'),
      pathology({ reportId: 'RPT-LR' }, '2026-03-27T10:00:00Z'),
    ];
    const second = last([...treated, ev('recurrence.detected', '2027-06-01T10:00:00Z', { kind: 'local' })]);
    expect(second.state.pathway).toBe('local-recurrence');
    expect(tasks(second.effects)).toHaveLength(3);
    expect(second.state.localRecurrences).toBe(2);
  });

  it('the SLA steps are configuration: 24 h to the navigator lead, 48 h to the clinical lead', () => {
    expect(pathway.config.escalation).toEqual({ navigatorLeadAfterHours: 24, clinicalLeadAfterHours: 48 });
  });
});

describe('distant metastasis (R-DM)', () => {
  it('urgent MDT review and medical-oncology referral, care team told, local surveillance stopped', () => {
    const imaging = ev('imaging.reported', '2026-01-05T10:00:00Z', {
      modality: 'CT',
      region: 'chest',
      finding: 'distant-metastasis',
    });
    const { state, effects } = last([registered(), surgery('wide-excision'), pathology(), imaging]);
    expect(state.pathway).toBe('metastatic');
    expect(summary(effects).sort()).toEqual([
      'mdt-review/R-DM/urgent/2026-01-07',
      'medical-oncology-referral/R-DM/urgent/2026-01-07',
    ]);
    expect(ofKind(effects, 'notify')).toEqual([
      expect.objectContaining({ audience: 'care-team', priority: 'urgent', ruleId: 'R-DM' }),
    ]);
    expect(ofKind(effects, 'cancel-surveillance')).toHaveLength(1);
  });
});

describe('end of the pathway', () => {
  it('R-DECEASED: every open task and future item cancelled, pathway closed', () => {
    const { state, effects } = last([
      registered(),
      surgery('marginal-excision'),
      pathology({ margin: 'R1' }),
      ev('patient.deceased', '2025-04-01T00:00:00Z', {}),
    ]);
    expect(state.pathway).toBe('closed');
    expect(ofKind(effects, 'close-tasks')[0]).toMatchObject({ outcome: 'cancelled', ruleId: 'R-DECEASED' });
    expect(ofKind(effects, 'close-tasks')[0].types).toContain('re-excision-review');
    expect(ofKind(effects, 'cancel-surveillance')).toHaveLength(1);
  });

  it('R-TRANSFERRED: closes the same way', () => {
    const { state, effects } = last([registered(), ev('patient.transferred', '2025-04-01T00:00:00Z', {})]);
    expect(state.pathway).toBe('closed');
    expect(ofKind(effects, 'close-tasks')[0].ruleId).toBe('R-TRANSFERRED');
  });

  it('never plans surveillance for a closed patient; later events are kept for review', () => {
    const { state, effects } = last([
      registered(),
      ev('patient.deceased', '2025-04-01T00:00:00Z', {}),
      ev('radiotherapy.completed', '2025-05-01T00:00:00Z', {
        completedAt: '2025-05-01T00:00:00Z',
        setting: 'adjuvant',
      }),
    ]);
    expect(state.pathway).toBe('closed');
    expect(ofKind(effects, 'plan-surveillance')).toEqual([]);
    expect(tasks(effects).map((t) => t.ruleId)).toEqual(['R-UNEXPECTED']);
  });
});

describe('events that do not fit (R-UNEXPECTED) are recorded, never dropped', () => {
  it('surgery during surveillance: data-quality review, state unchanged, event counted', () => {
    const { state: before } = run([registered(), surgery('wide-excision'), pathology()]);
    const decision = pathway.decide(before, surgery('amputation', '2025-06-01T00:00:00Z'), NOW);
    const after = pathway.evolve(before, surgery('amputation', '2025-06-01T00:00:00Z'));
    expect(decision.unexpected).toBe(true);
    expect(tasks(decision.effects).map((t) => `${t.type}/${t.ruleId}`)).toEqual(['data-quality-review/R-UNEXPECTED']);
    expect(after.pathway).toBe('surveillance');
    expect(after.eventCount).toBe(before.eventCount + 1);
    expect(after.unexpectedEventCount).toBe(1);
  });

  it('an event for a patient never registered is applied and flagged', () => {
    const { state, effects } = last([surgery('wide-excision')]);
    expect(state.pathway).toBe('awaiting-pathology');
    expect(tasks(effects).map((t) => t.reason)).toEqual([expect.stringContaining('never registered')]);
  });

  it('R-PATH-ENTRY: a late registration completes the record where the pathway has got to, with no second review', () => {
    const { state, effects } = last([surgery('wide-excision'), registered('2025-02-02T00:00:00Z')]);
    expect(state).toMatchObject({ pathway: 'awaiting-pathology', registered: true, unexpectedEventCount: 1 });
    expect(effects).toEqual([]);
  });

  it('R-UNEXPECTED: an event that fits no row still leaves its clinical facts in the record', () => {
    // Radiotherapy reported as adjuvant before any surgery: flagged, but the course is recorded, so no
    // radiotherapy evaluation is asked for later.
    const early = ev('radiotherapy.completed', '2025-01-20T00:00:00Z', {
      completedAt: '2025-01-20T00:00:00Z',
      setting: 'adjuvant',
    });
    const flagged = last([registered(), early]);
    expect(tasks(flagged.effects).map((t) => t.ruleId)).toEqual(['R-UNEXPECTED']);
    expect(flagged.state).toMatchObject({ pathway: 'awaiting-surgery', radiotherapy: 'completed' });
    const { state } = last([registered(), early, surgery('wide-excision'), pathology({ ...highRisk })]);
    expect(state.pathway).toBe('surveillance');
  });

  it('R-UNEXPECTED: a correction after the MDT decided is flagged, and still supersedes the earlier result', () => {
    const r1 = [registered(), surgery('marginal-excision'), pathology({ reportId: 'RPT-5', margin: 'R1' })];
    const correction = pathology({ reportId: 'RPT-5', status: 'corrected', margin: 'R0' }, '2025-02-25T00:00:00Z');
    const { state, effects } = last([...r1, mdt('re-excise'), correction]);
    expect(state.pathway).toBe('awaiting-surgery');
    expect(effects.map((e) => e.kind)).toEqual(['supersede-report', 'open-task']);
    expect(tasks(effects)[0]).toMatchObject({ type: 'data-quality-review', ruleId: 'R-UNEXPECTED' });
    expect(state.reports['RPT-5']).toMatchObject({ margin: 'R0', supersedes: [r1[2].eventId] });
  });

  it('a second registration is flagged', () => {
    const { effects } = last([registered(), registered('2025-01-02T00:00:00Z')]);
    expect(tasks(effects)[0].reason).toContain('already registered');
  });
});

describe('corrected pathology reports (R-CORRECTED-REPORT)', () => {
  const r0 = [registered(), surgery('wide-excision'), pathology({ reportId: 'RPT-9' }, '2025-02-10T12:00:00Z')];

  it('a corrected R1 supersedes the R0 result, re-runs the rules and stops the surveillance plan', () => {
    const correction = pathology({ reportId: 'RPT-9', status: 'corrected', margin: 'R1' }, '2025-02-14T12:00:00Z');
    const { state, effects } = last([...r0, correction]);
    expect(state.pathway).toBe('re-excision-review');
    expect(ofKind(effects, 'supersede-report')).toEqual([
      { kind: 'supersede-report', reportId: 'RPT-9', supersededEventId: r0[2].eventId, ruleId: 'R-CORRECTED-REPORT' },
    ]);
    expect(summary(effects)).toContain('re-excision-review/R-MARGIN-R1/high/2025-02-21');
    expect(ofKind(effects, 'cancel-surveillance')).toHaveLength(1);
    expect(state.reports['RPT-9']).toMatchObject({ margin: 'R1', supersedes: [r0[2].eventId] });
  });

  it('a corrected R0 closes the re-excision review it had opened and starts surveillance', () => {
    const r1 = [registered(), surgery('wide-excision'), pathology({ reportId: 'RPT-9', margin: 'R1' })];
    const { state, effects } = last([
      ...r1,
      pathology({ reportId: 'RPT-9', status: 'corrected', margin: 'R0' }, '2025-02-12T00:00:00Z'),
    ]);
    expect(state.pathway).toBe('surveillance');
    expect(ofKind(effects, 'close-tasks')).toContainEqual(
      expect.objectContaining({ types: ['re-excision-review'], outcome: 'cancelled' }),
    );
    expect(ofKind(effects, 'plan-surveillance')).toHaveLength(1);
  });

  it('in surveillance, a correction keeps the clock: same plan, or the new schedule from the same anchor', () => {
    const typo = last([...r0, pathology({ reportId: 'RPT-9', status: 'corrected', histology: 'myxoid liposarcoma' })]);
    expect(typo.state.pathway).toBe('surveillance');
    expect(typo.effects.map((e) => e.kind)).toEqual(['supersede-report']);
    expect(typo.state.surveillance?.anchorEventId).toBe(r0[2].eventId);
    const regraded = last([
      ...r0,
      pathology({ reportId: 'RPT-9', status: 'corrected', grade: 3 }, '2025-03-01T00:00:00Z'),
    ]);
    expect(ofKind(regraded.effects, 'plan-surveillance')[0]).toMatchObject({
      anchorAt: '2025-02-10T12:00:00.000Z',
      schedule: 'high-grade',
    });
  });

  it('while a re-excision specimen is awaited, a correction of the earlier report is recorded and the pathway waits', () => {
    const flow = [
      registered(),
      surgery('marginal-excision'),
      pathology({ reportId: 'RPT-1', margin: 'R1' }),
      mdt('re-excise'),
      surgery('re-excision', '2025-03-10T08:00:00Z'),
    ];
    const correction = pathology({ reportId: 'RPT-1', status: 'corrected', margin: 'R0' }, '2025-03-12T08:00:00Z');
    const waiting = last([...flow, correction]);
    expect(waiting.state.pathway).toBe('awaiting-pathology');
    expect(waiting.effects.map((e) => e.kind)).toEqual(['supersede-report']);
    const done = last([...flow, correction, pathology({ reportId: 'RPT-2' }, '2025-03-17T08:00:00Z')]);
    expect(done.state.pathway).toBe('surveillance');
  });

  it('a correction of a report never received, or a second final with the same id, is flagged', () => {
    expect(last([...r0, pathology({ reportId: 'RPT-X', status: 'corrected' })]).effects.map((e) => e.kind)).toEqual([
      'open-task',
    ]);
    const dup = last([...r0, pathology({ reportId: 'RPT-9' })]);
    expect(tasks(dup.effects)[0]).toMatchObject({ type: 'data-quality-review', ruleId: 'R-UNEXPECTED' });
    expect(tasks(dup.effects)[0].reason).toContain('already received');
  });
});

describe('other rules', () => {
  it('R-IMAGING-SUSPICIOUS: a suspicious finding opens a high-priority MDT review; the state stays', () => {
    const suspicious = ev('imaging.reported', '2025-08-01T00:00:00Z', {
      modality: 'MRI',
      region: 'primary-site',
      finding: 'suspicious',
    });
    const { state, effects } = last([registered(), surgery('wide-excision'), pathology(), suspicious]);
    expect(state.pathway).toBe('surveillance');
    expect(summary(effects)).toEqual(['mdt-review/R-IMAGING-SUSPICIOUS/high/2025-08-08']);
  });

  it('R-PATH-ABSTRACTION: a report without a coded margin opens a data-quality review and the pathway waits for the result', () => {
    const unstructured = ev('pathology.unstructured', '2025-02-10T00:00:00Z', {
      reportId: 'RPT-9',
      status: 'final',
      missing: ['margin', 'grade'],
    });
    const { state, effects } = last([registered(), surgery('wide-excision'), unstructured]);
    expect(state.pathway).toBe('awaiting-pathology');
    expect(summary(effects)).toEqual(['data-quality-review/R-PATH-ABSTRACTION/routine/2025-02-17']);
    expect(tasks(effects)[0].reason).toBe(
      'pathology report RPT-9 needs manual abstraction: margin, grade not coded (R-PATH-ABSTRACTION)',
    );
    // the abstracted result, when it comes, is acted on as usual
    const after = last([registered(), surgery('wide-excision'), unstructured, pathology({ reportId: 'RPT-9' })]);
    expect(after.state.pathway).not.toBe('awaiting-pathology');
  });

  it('R-LATE-EVENT: the review task a late arrival gets', () => {
    const effect = pathway.lateArrivalReview(surgery('wide-excision', '2025-02-01T09:00:00Z'));
    expect(effect).toMatchObject({
      kind: 'open-task',
      type: 'data-quality-review',
      ruleId: 'R-LATE-EVENT',
      priority: 'routine',
    });
  });
});
