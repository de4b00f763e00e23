import { validateClinicalEvent } from '@app/contracts';
import { chronological, generateCohort, SCENARIOS } from './cohort';

describe('generateCohort', () => {
  const cohort = generateCohort({ patients: 400, seed: 7 });

  it('is reproducible from its seed', () => {
    expect(generateCohort({ patients: 400, seed: 7 })).toEqual(cohort);
    expect(generateCohort({ patients: 400, seed: 8 })).not.toEqual(cohort);
  });

  it('produces only events that pass the v1 contract', () => {
    const invalid = cohort
      .flatMap((p) => p.events)
      .map(validateClinicalEvent)
      .filter((r) => !r.ok);
    expect(invalid).toEqual([]);
  });

  it('covers every scenario and keeps event ids unique', () => {
    expect(new Set(cohort.map((p) => p.scenario))).toEqual(new Set(SCENARIOS));
    const ids = cohort.flatMap((p) => p.events.map((e) => e.eventId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keeps each patient in clinical order and nothing after "until"', () => {
    const until = '2024-01-01T00:00:00Z';
    for (const p of generateCohort({ patients: 100, seed: 3, until })) {
      const times = p.events.map((e) => e.occurredAt);
      expect([...times].sort()).toEqual(times);
      expect(times.every((t) => t <= until)).toBe(true);
    }
  });

  it('orders the publish stream by clinical time without reordering a patient', () => {
    const stream = chronological(cohort);
    expect(stream).toHaveLength(cohort.reduce((n, p) => n + p.events.length, 0));
    const seen = new Map<string, number>();
    for (const e of stream) {
      const position = Number(e.eventId.split('-').pop());
      expect(position).toBeGreaterThan(seen.get(e.patientId) ?? 0);
      seen.set(e.patientId, position);
    }
  });
});
