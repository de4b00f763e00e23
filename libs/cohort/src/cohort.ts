import {
  SCHEMA_VERSION,
  type ClinicalEvent,
  type EventType,
  type FnclccGrade,
  type Margin,
  type PayloadByType,
  type TumourDepth,
} from '@app/contracts';
import { SeededRandom } from './random';

/**
 * Synthetic cohorts for the demo, the tests and the benchmarks: realistic patient journeys through the
 * sarcoma pathway, with historical dates, reproducible from a seed. No real patient is in here.
 */
export const SCENARIOS = [
  'r0-low-grade',
  'r0-high-risk-radiotherapy',
  'r1-re-excision',
  'r2-no-re-excision',
  'unplanned-excision',
  'local-recurrence',
  'distant-metastasis',
  'deceased',
  'corrected-report',
  'transferred',
  'surveillance-missed',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

const SCENARIO_WEIGHTS: [Scenario, number][] = [
  ['r0-low-grade', 20],
  ['r0-high-risk-radiotherapy', 15],
  ['r1-re-excision', 12],
  ['r2-no-re-excision', 5],
  ['unplanned-excision', 10],
  ['local-recurrence', 10],
  ['distant-metastasis', 7],
  ['deceased', 5],
  ['corrected-report', 6],
  ['transferred', 3],
  ['surveillance-missed', 7],
];

export interface CohortOptions {
  patients: number;
  seed: number;
  /** Earliest diagnosis date (ISO). */
  from?: string;
  /** No event after this instant (ISO): the cohort's "today". */
  until?: string;
  /** Prefix of patient and event ids, so several cohorts can share a database. */
  idPrefix?: string;
  /** Restrict to these scenarios (default: all, weighted). */
  scenarios?: readonly Scenario[];
}

export interface SyntheticPatient {
  patientId: string;
  scenario: Scenario;
  events: ClinicalEvent[];
}

const DAY = 86_400_000;
const SITES = ['thigh', 'buttock', 'upper arm', 'retroperitoneum', 'trunk wall', 'calf', 'shoulder'];
const HISTOLOGIES = [
  'undifferentiated pleomorphic sarcoma',
  'myxofibrosarcoma',
  'liposarcoma',
  'leiomyosarcoma',
  'synovial sarcoma',
];
const TEAMS = ['sarcoma-north', 'sarcoma-south'];

interface Tumour {
  grade: FnclccGrade;
  sizeCm: number;
  depth: TumourDepth;
  histology: string;
}

/** Builds one patient's events in clinical order; dates advance as the journey goes. */
class Journey {
  readonly events: ClinicalEvent[] = [];
  private at: number;
  private n = 0;
  private reports = 0;

  constructor(
    readonly patientId: string,
    /** Event ids do not embed the patient id: event ids are logged, patient ids never are. */
    private readonly eventIdPrefix: string,
    readonly rnd: SeededRandom,
    start: number,
    private readonly until: number,
  ) {
    this.at = start;
  }

  get done(): boolean {
    return this.at > this.until;
  }

  wait(minDays: number, maxDays: number): this {
    this.at += this.rnd.int(minDays, maxDays) * DAY + this.rnd.int(0, 8 * 3600) * 1000;
    return this;
  }

  now(): string {
    return new Date(this.at).toISOString();
  }

  emit<T extends EventType>(type: T, payload: PayloadByType[T], source: string): this {
    if (this.done) return this;
    this.n += 1;
    this.events.push({
      // zero-padded so that id order is publish order for events at the same instant
      eventId: `${this.eventIdPrefix}-${String(this.n).padStart(4, '0')}`,
      type,
      patientId: this.patientId,
      occurredAt: this.now(),
      source,
      schemaVersion: SCHEMA_VERSION,
      correlationId: this.eventIdPrefix,
      payload,
    } as ClinicalEvent);
    return this;
  }

  register(): this {
    return this.emit(
      'patient.registered',
      {
        primarySite: this.rnd.pick(SITES),
        diagnosisDate: this.now().slice(0, 10),
        histology: this.rnd.pick(HISTOLOGIES),
        careTeam: this.rnd.pick(TEAMS),
      },
      'pas',
    );
  }

  surgery(procedure: PayloadByType['surgery.performed']['procedure']): this {
    return this.wait(14, 45).emit('surgery.performed', { procedure, performedAt: this.now() }, 'theatre-system');
  }

  pathology(margin: Margin, tumour: Tumour, status: 'final' | 'corrected' = 'final', reportNo?: number): this {
    const no = reportNo ?? (this.reports += 1);
    return this.wait(5, 12).emit(
      'pathology.reported',
      {
        reportId: `RPT-${this.patientId}-${no}`,
        status,
        margin,
        grade: tumour.grade,
        sizeCm: tumour.sizeCm,
        depth: tumour.depth,
        histology: tumour.histology,
        closestMarginMm: margin === 'R0' ? this.rnd.int(2, 20) : 0,
      },
      'pathology-lis',
    );
  }

  mdt(decision: PayloadByType['mdt.decision']['decision']): this {
    return this.wait(3, 10).emit('mdt.decision', { decision }, 'mdt-system');
  }

  radiotherapy(): this {
    return this.wait(35, 60).emit(
      'radiotherapy.completed',
      { completedAt: this.now(), setting: 'adjuvant' },
      'radiotherapy-system',
    );
  }

  /** Follow-up for `months`: clinic visits and imaging, each kept with probability `adherence`. */
  surveillance(months: number, adherence: number, intervalDays: [number, number] = [80, 120]): this {
    const end = this.at + months * 30 * DAY;
    while (this.at < end && !this.done) {
      this.wait(intervalDays[0], intervalDays[1]);
      if (this.rnd.chance(adherence)) this.emit('clinic.visited', { visitedAt: this.now() }, 'outpatients');
      if (this.rnd.chance(adherence)) {
        this.emit(
          'imaging.reported',
          { modality: 'CT', region: 'chest', finding: 'no-evidence-of-disease' },
          'radiology-ris',
        );
      }
      if (this.rnd.chance(adherence / 2)) {
        const finding = this.rnd.chance(0.03) ? 'suspicious' : 'no-evidence-of-disease';
        this.emit('imaging.reported', { modality: 'MRI', region: 'primary-site', finding }, 'radiology-ris');
      }
    }
    return this;
  }
}

function tumour(rnd: SeededRandom, risk: 'low' | 'high' | 'any'): Tumour {
  const histology = rnd.pick(HISTOLOGIES);
  if (risk === 'low') return { grade: 1, sizeCm: rnd.int(10, 45) / 10, depth: 'superficial', histology };
  if (risk === 'high')
    return { grade: rnd.pick([2, 3] as const), sizeCm: rnd.int(55, 180) / 10, depth: 'deep', histology };
  return {
    grade: rnd.pick([1, 2, 3] as const),
    sizeCm: rnd.int(10, 150) / 10,
    depth: rnd.pick(['superficial', 'deep'] as const),
    histology,
  };
}

function isHighRisk(t: Tumour): boolean {
  return t.grade >= 2 && t.depth === 'deep' && t.sizeCm > 5;
}

/** Local treatment after a clear margin: radiotherapy for high-risk tumours, then surveillance. */
function completeTreatment(j: Journey, t: Tumour): Journey {
  if (isHighRisk(t)) j.mdt('radiotherapy').radiotherapy();
  return j;
}

function play(j: Journey, scenario: Scenario): void {
  const rnd = j.rnd;
  j.register();
  switch (scenario) {
    case 'r0-low-grade': {
      const t = tumour(rnd, 'low');
      j.surgery('wide-excision').pathology('R0', t);
      // The patient administration system sometimes re-sends a registration (a new event id): kept, reviewed.
      if (rnd.chance(0.15)) j.wait(1, 30).register();
      j.surveillance(60, 0.95, [110, 170]);
      break;
    }
    case 'r0-high-risk-radiotherapy': {
      const t = tumour(rnd, 'high');
      completeTreatment(j.surgery('wide-excision').pathology('R0', t), t).surveillance(48, 0.9);
      break;
    }
    case 'r1-re-excision': {
      const t = tumour(rnd, 'any');
      j.surgery('marginal-excision').pathology('R1', t).mdt('re-excise').surgery('re-excision').pathology('R0', t);
      completeTreatment(j, t).surveillance(36, 0.9);
      break;
    }
    case 'r2-no-re-excision': {
      const t = tumour(rnd, 'any');
      j.surgery('marginal-excision')
        .pathology('R2', t)
        .mdt('no-re-excision')
        .mdt('radiotherapy')
        .radiotherapy()
        .surveillance(24, 0.85);
      break;
    }
    case 'unplanned-excision': {
      const t = tumour(rnd, 'any');
      j.surgery('unplanned-excision')
        .pathology(rnd.pick(['R1', 'R2'] as const), t)
        .mdt('re-excise')
        .surgery('re-excision')
        .pathology('R0', t);
      completeTreatment(j, t).surveillance(30, 0.9);
      break;
    }
    case 'local-recurrence': {
      const t = tumour(rnd, 'any');
      completeTreatment(j.surgery('wide-excision').pathology('R0', t), t).surveillance(rnd.int(9, 30), 0.9);
      j.wait(10, 40).emit('recurrence.detected', { kind: 'local', site: 'primary site' }, 'radiology-ris');
      j.mdt('re-excise').surgery('re-excision').pathology('R0', t).surveillance(18, 0.95, [80, 100]);
      break;
    }
    case 'distant-metastasis': {
      const t = tumour(rnd, 'high');
      completeTreatment(j.surgery('wide-excision').pathology('R0', t), t).surveillance(rnd.int(6, 24), 0.9);
      j.wait(20, 60).emit(
        'imaging.reported',
        { modality: 'CT', region: 'chest', finding: 'distant-metastasis' },
        'radiology-ris',
      );
      break;
    }
    case 'deceased': {
      const t = tumour(rnd, 'high');
      completeTreatment(j.surgery('wide-excision').pathology('R0', t), t).surveillance(rnd.int(6, 18), 0.9);
      j.wait(20, 60).emit('recurrence.detected', { kind: 'distant', site: 'lung' }, 'oncology');
      j.wait(60, 300).emit('patient.deceased', {}, 'pas');
      break;
    }
    case 'corrected-report': {
      const t = tumour(rnd, 'any');
      j.surgery('wide-excision').pathology('R0', t);
      // The lab re-reads the slides: the margin was involved after all.
      j.pathology('R1', t, 'corrected', 1).mdt('re-excise').surgery('re-excision').pathology('R0', t);
      completeTreatment(j, t).surveillance(24, 0.9);
      break;
    }
    case 'transferred': {
      const t = tumour(rnd, 'low');
      j.surgery('wide-excision').pathology('R0', t).surveillance(rnd.int(6, 20), 0.9);
      j.wait(10, 30).emit('patient.transferred', {}, 'pas');
      break;
    }
    case 'surveillance-missed': {
      const t = tumour(rnd, 'any');
      completeTreatment(j.surgery('wide-excision').pathology('R0', t), t).surveillance(36, 0.3);
      break;
    }
  }
}

export function generateCohort(options: CohortOptions): SyntheticPatient[] {
  const rnd = new SeededRandom(options.seed);
  const from = Date.parse(options.from ?? '2019-01-01T09:00:00Z');
  const until = Date.parse(options.until ?? '2026-11-01T00:00:00Z');
  const idPrefix = options.idPrefix ?? `c${options.seed}`;
  const weights = options.scenarios
    ? SCENARIO_WEIGHTS.filter(([s]) => options.scenarios!.includes(s))
    : SCENARIO_WEIGHTS;
  const span = Math.max(DAY, until - from - 2 * 365 * DAY);
  const patients: SyntheticPatient[] = [];
  for (let i = 0; i < options.patients; i += 1) {
    const patientId = `${idPrefix.toUpperCase()}-MRN${String(i + 1).padStart(7, '0')}`;
    const scenario = rnd.weighted(weights);
    const journey = new Journey(patientId, `${idPrefix}-p${i + 1}`, rnd, from + Math.floor(rnd.next() * span), until);
    play(journey, scenario);
    patients.push({ patientId, scenario, events: journey.events });
  }
  return patients;
}

/**
 * All events of a cohort in the order upstream systems would publish them: by clinical time across
 * patients, each patient's own events in order.
 */
export function chronological(patients: SyntheticPatient[]): ClinicalEvent[] {
  return patients
    .flatMap((p) => p.events.map((event, index) => ({ event, index })))
    .sort((a, b) => a.event.occurredAt.localeCompare(b.event.occurredAt) || a.index - b.index)
    .map((x) => x.event);
}

/**
 * A patient's history moved in time by whole days, every clinical date with it (occurredAt and the payload's
 * dates), so intervals between events are kept. Benchmarks cut histories short (the first N events); moved so the
 * last one falls shortly before today, such a history is what an export up to today looks like, instead of a
 * patient lost to follow-up years ago.
 */
export function shiftedByDays(events: ClinicalEvent[], days: number): ClinicalEvent[] {
  const shift = (iso: string) => {
    const moved = new Date(Date.parse(iso) + days * DAY).toISOString();
    // a date stays a date; a date-time keeps UTC (the generator writes UTC)
    return iso.length === 10 ? moved.slice(0, 10) : moved;
  };
  return events.map((event) => {
    const payload: Record<string, unknown> = { ...event.payload };
    for (const key of DATED_PAYLOAD_FIELDS) if (typeof payload[key] === 'string') payload[key] = shift(payload[key]);
    return { ...event, occurredAt: shift(event.occurredAt), payload } as ClinicalEvent;
  });
}

const DATED_PAYLOAD_FIELDS = ['diagnosisDate', 'performedAt', 'completedAt', 'visitedAt'] as const;

/**
 * The first `perPatient` events of each patient, moved (shiftedByDays) so the last of them falls between
 * `withinDays` days before `now` and the day before: a history exported up to today.
 */
export function recentHistories(
  patients: SyntheticPatient[],
  perPatient: number,
  now: number,
  withinDays: number,
  rnd: SeededRandom,
): SyntheticPatient[] {
  return patients.map((p) => {
    const kept = p.events.slice(0, perPatient);
    const last = Date.parse(kept[kept.length - 1].occurredAt);
    const target = now - rnd.int(1, withinDays) * DAY;
    return { ...p, events: shiftedByDays(kept, Math.floor((target - last) / DAY)) };
  });
}
