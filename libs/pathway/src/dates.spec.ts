import fc from 'fast-check';
import { addDays, addMonths, monthsFrom, toIso } from './dates';

// The Date route every helper took before the text fast path: the reference the fast path must agree with.
const viaDate = {
  toIso: (value: string) => new Date(Date.parse(value)).toISOString(),
  addMonths: (iso: string, months: number) => {
    const d = new Date(Date.parse(iso));
    const day = d.getUTCDate();
    d.setUTCDate(1);
    d.setUTCMonth(d.getUTCMonth() + months);
    d.setUTCDate(Math.min(day, new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate()));
    return d.toISOString();
  },
};

const instant = fc.date({ min: new Date('1900-01-01'), max: new Date('2200-12-31'), noInvalidDate: true });

describe('dates', () => {
  it('addMonths clamps the day to the end of the month and keeps the time', () => {
    expect(addMonths('2025-01-31T10:30:00.000Z', 1)).toBe('2025-02-28T10:30:00.000Z');
    expect(addMonths('2024-01-31T10:30:00.000Z', 1)).toBe('2024-02-29T10:30:00.000Z');
    expect(addMonths('2025-03-31T00:00:00.000Z', -1)).toBe('2025-02-28T00:00:00.000Z');
    expect(addMonths('2025-11-15T23:59:59.999Z', 14)).toBe('2027-01-15T23:59:59.999Z');
    expect(addMonths('2025-01-15T10:00:00Z', 3)).toBe('2025-04-15T10:00:00.000Z'); // not canonical: via Date
    expect(addMonths('2025-01-15T11:00:00+01:00', 0)).toBe('2025-01-15T10:00:00.000Z');
  });

  it('agrees with the Date route on canonical date-times, for any number of months', () => {
    fc.assert(
      fc.property(instant, fc.integer({ min: -240, max: 240 }), (date, months) => {
        const iso = date.toISOString();
        expect(addMonths(iso, months)).toBe(viaDate.addMonths(iso, months));
        expect(monthsFrom(iso)(months)).toBe(viaDate.addMonths(iso, months));
        expect(toIso(iso)).toBe(iso);
      }),
      { numRuns: 2000 },
    );
  });

  it('normalises what is not canonical as Date does (offsets, no milliseconds, rolled-over days)', () => {
    for (const value of [
      '2025-01-15T10:00:00Z',
      '2025-01-15T11:00:00+01:00',
      '2025-01-15',
      '2025-02-30T00:00:00.000Z', // Date.parse rolls it over to 2 March
      '2025-04-31T10:00:00.000Z',
      '2025-01-01T24:00:00.000Z',
      '2023-02-29T12:00:00.000Z',
    ]) {
      expect(toIso(value)).toBe(viaDate.toIso(value));
      expect(addMonths(value, 2)).toBe(viaDate.addMonths(value, 2));
    }
    expect(() => toIso('not a date')).toThrow(RangeError);
    expect(() => addMonths('2025-13-01T00:00:00.000Z', 1)).toThrow(RangeError);
  });

  it('addDays counts days of 24 hours', () => {
    expect(addDays('2025-02-27T10:00:00.000Z', 2)).toBe('2025-03-01T10:00:00.000Z');
    expect(addDays('2025-03-01T10:00:00Z', -1)).toBe('2025-02-28T10:00:00.000Z');
  });
});
