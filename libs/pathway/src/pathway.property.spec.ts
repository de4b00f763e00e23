/**
 * Random event sequences through the pathway (fast-check): it never throws, never loses an event, tags
 * every effect with a known rule, survives a JSON round trip of its state (it is stored as jsonb), never
 * plans surveillance for a closed patient, never repeats a task or surveillance-item key, and decide agrees
 * with evolve (the transition it names is where evolve goes; a data-quality review iff `unexpected`).
 */
import fc from 'fast-check';
import { SCHEMA_VERSION, type ClinicalEvent } from '@app/contracts';
import type { Effect } from './model';
import { createPathway, type PatientState } from './pathway';
import { RULE_IDS } from './rules';

const pathway = createPathway();

const payloads = {
  'patient.registered': fc.record({
    primarySite: fc.constantFrom('thigh', 'arm'),
    diagnosisDate: fc.constant('2024-01-01'),
  }),
  'surgery.performed': fc.record({
    procedure: fc.constantFrom('wide-excision', 'marginal-excision', 'unplanned-excision', 're-excision', 'amputation'),
    performedAt: fc.constant('2024-02-01T00:00:00Z'),
  }),
  'pathology.reported': fc.record({
    reportId: fc.constantFrom('R1', 'R2', 'R3'),
    status: fc.constantFrom('final', 'corrected'),
    margin: fc.constantFrom('R0', 'R1', 'R2'),
    grade: fc.constantFrom(1, 2, 3),
    sizeCm: fc.constantFrom(2, 5, 8.5),
    depth: fc.constantFrom('superficial', 'deep'),
    histology: fc.constant('liposarcoma'),
  }),
  'mdt.decision': fc.record({
    decision: fc.constantFrom('re-excise', 'no-re-excision', 'radiotherapy', 'no-radiotherapy', 'surveillance'),
  }),
  'radiotherapy.completed': fc.record({
    completedAt: fc.constant('2024-05-01T00:00:00Z'),
    setting: fc.constantFrom('neoadjuvant', 'adjuvant'),
  }),
  'imaging.reported': fc.record({
    modality: fc.constantFrom('MRI', 'CT'),
    region: fc.constantFrom('primary-site', 'chest'),
    finding: fc.constantFrom('no-evidence-of-disease', 'suspicious', 'local-recurrence', 'distant-metastasis'),
  }),
  'clinic.visited': fc.record({ visitedAt: fc.constant('2024-06-01T00:00:00Z') }),
  'recurrence.detected': fc.record({ kind: fc.constantFrom('local', 'distant') }),
  'patient.deceased': fc.constant({}),
  'patient.transferred': fc.constant({}),
} as const;

const eventArb = fc.oneof(
  ...Object.entries(payloads).map(([type, payload]) =>
    fc.record({
      type: fc.constant(type),
      payload: payload as fc.Arbitrary<unknown>,
      day: fc.integer({ min: 0, max: 4000 }),
    }),
  ),
);

/** Sequences in clinical order, with registration first most of the time. */
const sequenceArb = fc.tuple(fc.boolean(), fc.array(eventArb, { maxLength: 40 })).map(([register, raw]) => {
  const list = register
    ? [{ type: 'patient.registered', payload: { primarySite: 'thigh', diagnosisDate: '2024-01-01' }, day: -1 }, ...raw]
    : raw;
  return list
    .map((e, i) => ({ ...e, day: e.day, i }))
    .sort((a, b) => a.day - b.day || a.i - b.i)
    .map(
      (e, n): ClinicalEvent =>
        ({
          eventId: `prop-${n}`,
          type: e.type,
          patientId: 'P-PROP',
          occurredAt: new Date(Date.UTC(2024, 0, 1) + e.day * 86_400_000).toISOString(),
          source: 'property-test',
          schemaVersion: SCHEMA_VERSION,
          payload: e.payload,
        }) as ClinicalEvent,
    );
});

describe('pathway under random event sequences', () => {
  it('never throws, accounts for every event, names a known rule on every effect, and keeps its invariants', () => {
    fc.assert(
      fc.property(
        sequenceArb,
        fc.date({ min: new Date('2024-01-01'), max: new Date('2040-01-01'), noInvalidDate: true }),
        (events, now) => {
          let state: PatientState = pathway.initialState();
          const taskKeys = new Set<string>();
          const itemKeys = new Set<string>();
          for (const event of events) {
            const { effects, unexpected } = pathway.decide(state, event, now);
            const next = pathway.evolve(state, event);
            // evolve works out the state alone (no effects): it must be the state step gives with its decision
            expect(pathway.step(state, event).state).toEqual(next);
            expect(effects.some((e) => e.kind === 'open-task' && e.type === 'data-quality-review')).toBe(unexpected);
            const transitions = effects.filter((e) => e.kind === 'transition');
            expect(transitions.length).toBeLessThanOrEqual(1);
            if (transitions.length === 0) expect(next.pathway).toBe(state.pathway);
            for (const effect of effects) {
              expect(RULE_IDS.has(effect.ruleId)).toBe(true);
              if (effect.kind === 'open-task') {
                expect(taskKeys.has(effect.taskKey)).toBe(false);
                taskKeys.add(effect.taskKey);
                expect(effect.reason).not.toContain('P-PROP');
              }
              if (effect.kind === 'transition') expect(effect.to).toBe(next.pathway);
              if (effect.kind === 'plan-surveillance' || effect.kind === 'extend-surveillance') {
                expect(next.surveillance?.materializedUntil).toBe(effect.materializedUntil);
                expect(effect.items.every((item) => item.dueAt <= effect.materializedUntil)).toBe(true);
              }
              if (effect.kind === 'extend-surveillance') {
                for (const item of effect.items) {
                  expect(itemKeys.has(item.key)).toBe(false);
                  itemKeys.add(item.key);
                }
              }
              if (effect.kind === 'plan-surveillance') {
                for (const item of effect.items) {
                  expect(itemKeys.has(item.key)).toBe(false);
                  itemKeys.add(item.key);
                }
                expect(next.surveillance).toMatchObject({ anchorAt: effect.anchorAt, schedule: effect.schedule });
              }
            }
            if (next.pathway === 'closed') expect(next.surveillance).toBeNull();
            if (state.pathway === 'closed') {
              expect(next.pathway).toBe('closed');
              expect(effects.some((e: Effect) => e.kind === 'plan-surveillance')).toBe(false);
            }
            // The state is stored as jsonb: going on from its JSON round trip changes nothing.
            state = JSON.parse(JSON.stringify(next)) as PatientState;
            expect(state).toEqual(next);
          }
          expect(state.eventCount).toBe(events.length);
          // Replaying the log gives the same state.
          expect(events.reduce((s, e) => pathway.evolve(s, e), pathway.initialState())).toEqual(state);
        },
      ),
      { numRuns: 300 },
    );
  });
});
