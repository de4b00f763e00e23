/**
 * Random event sequences through the pathway (fast-check): it never throws, never loses an event, tags
 * every effect with a known rule, survives a JSON round trip of its state (it is stored as jsonb), and
 * never plans surveillance for a closed patient.
 */
import fc from 'fast-check';
import { SCHEMA_VERSION, type ClinicalEvent } from '@app/contracts';
import type { Effect } from './model';
import { createPathway, type PatientState } from './pathway';
import { RULE_IDS } from './rules';

const pathway = createPathway();
const NOW = new Date('2030-01-01T00:00:00Z');

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
      fc.property(sequenceArb, (events) => {
        let state: PatientState = pathway.initialState();
        const taskKeys = new Set<string>();
        for (const event of events) {
          const { effects } = pathway.decide(state, event, NOW);
          const next = pathway.evolve(state, event);
          for (const effect of effects) {
            expect(RULE_IDS.has(effect.ruleId)).toBe(true);
            if (effect.kind === 'open-task') {
              expect(taskKeys.has(effect.taskKey)).toBe(false);
              taskKeys.add(effect.taskKey);
              expect(effect.reason).not.toContain('P-PROP');
            }
            if (effect.kind === 'transition') expect(effect.to).toBe(next.pathway);
          }
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
      }),
      { numRuns: 300 },
    );
  });
});
