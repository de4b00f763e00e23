import { validateClinicalEvent } from '@app/contracts';
import { chronological, generateCohort, recentHistories, SCENARIOS, shiftedByDays } from './cohort';
import { SeededRandom } from './random';

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

describe('histories moved in time', () => {
  const DAY = 86_400_000;
  const cohort = generateCohort({ patients: 200, seed: 11 });

  it('moves every clinical date by the same whole days, keeping the intervals and the contract', () => {
    const patient = cohort.find((p) => p.events.some((e) => e.type === 'clinic.visited'))!;
    const moved = shiftedByDays(patient.events, 400);
    expect(moved.map(validateClinicalEvent).filter((r) => !r.ok)).toEqual([]);
    moved.forEach((event, i) => {
      const before = patient.events[i];
      expect(Date.parse(event.occurredAt) - Date.parse(before.occurredAt)).toBe(400 * DAY);
      for (const key of ['diagnosisDate', 'performedAt', 'completedAt', 'visitedAt']) {
        const was = (before.payload as Record<string, unknown>)[key];
        const now = (event.payload as Record<string, unknown>)[key];
        if (typeof was !== 'string') continue;
        expect(Date.parse(now as string) - Date.parse(was)).toBe(400 * DAY);
        expect((now as string).length).toBe(was.length);
      }
    });
    expect(moved.map((e) => e.eventId)).toEqual(patient.events.map((e) => e.eventId));
  });

  it('cuts each history to its first events and ends it within the window before now', () => {
    const now = Date.parse('2026-11-29T12:00:00Z');
    const recent = recentHistories(cohort, 10, now, 90, new SeededRandom(1));
    for (const [i, p] of recent.entries()) {
      expect(p.events.map((e) => e.type)).toEqual(cohort[i].events.slice(0, 10).map((e) => e.type));
      const last = Date.parse(p.events[p.events.length - 1].occurredAt);
      expect(last).toBeLessThan(now);
      expect(now - last).toBeLessThanOrEqual(91 * DAY);
    }
  });
});
