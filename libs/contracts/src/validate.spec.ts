import {
  ClinicalEvent,
  ClinicalEventValidationError,
  EVENT_TYPES,
  EventType,
  FieldError,
  PayloadByType,
  parseClinicalEvent,
  validateClinicalEvent,
} from './index';

const PAYLOADS: { [K in EventType]: PayloadByType[K] } = {
  'patient.registered': {
    primarySite: 'left thigh',
    diagnosisDate: '2025-01-20',
    histology: 'myxofibrosarcoma',
    careTeam: 'SARC-NORTH',
  },
  'surgery.performed': { procedure: 'wide-excision', performedAt: '2025-02-03T08:15:00+00:00' },
  'pathology.reported': {
    reportId: 'PATH-2025-0001',
    status: 'final',
    margin: 'R1',
    grade: 3,
    sizeCm: 7.5,
    depth: 'deep',
    histology: 'undifferentiated pleomorphic sarcoma',
    closestMarginMm: 0,
  },
  'pathology.unstructured': { reportId: 'PATH-2025-0002', status: 'final', missing: ['margin', 'grade'] },
  'mdt.decision': { decision: 'radiotherapy', note: 'Discussed at sarcoma MDT.' },
  'radiotherapy.completed': { completedAt: '2025-04-30T16:00:00+01:00', setting: 'adjuvant' },
  'imaging.reported': { modality: 'CT', region: 'chest', finding: 'no-evidence-of-disease' },
  'clinic.visited': { visitedAt: '2025-08-01T10:30:00.000Z' },
  'recurrence.detected': { kind: 'local', site: 'left thigh' },
  'patient.deceased': {},
  'patient.transferred': { note: 'Moved to another region.' },
};

function event<K extends EventType>(type: K, payload: object = PAYLOADS[type]): Record<string, unknown> {
  return {
    eventId: `evt-${type}-0001`,
    type,
    patientId: 'MRN-0012345',
    occurredAt: '2025-02-03T09:00:00+01:00',
    source: 'pathology-lis',
    schemaVersion: 1,
    payload: { ...payload },
  };
}

const pathology = (overrides: Record<string, unknown>) =>
  event('pathology.reported', { ...PAYLOADS['pathology.reported'], ...overrides });

function errorsOf(input: unknown): FieldError[] {
  const result = validateClinicalEvent(input);
  if (result.ok) throw new Error('expected the event to be rejected');
  return result.errors;
}

function reasonFor(input: unknown, field: string): string {
  const errors = errorsOf(input);
  const found = errors.filter((e) => e.field === field);
  if (found.length !== 1) throw new Error(`expected one error on ${field}, got ${JSON.stringify(errors)}`);
  return found[0].reason;
}

describe('validateClinicalEvent', () => {
  describe('valid events', () => {
    it.each(EVENT_TYPES.map((t) => [t]))('accepts a valid %s event', (type) => {
      const input = event(type);
      const result = validateClinicalEvent(input);
      expect(result).toEqual({ ok: true, event: input });
    });

    it('returns a plain copy with exactly the input fields', () => {
      const input: Record<string, unknown> = { ...event('clinic.visited'), correlationId: 'corr-1' };
      const result = validateClinicalEvent(input);
      if (!result.ok) throw new Error(JSON.stringify(result.errors));
      expect(Object.getPrototypeOf(result.event)).toBe(Object.prototype);
      expect(Object.getPrototypeOf(result.event.payload)).toBe(Object.prototype);
      expect(Object.keys(result.event).sort()).toEqual(Object.keys(input).sort());
      expect(result.event).not.toBe(input);
      expect(result.event.payload).not.toBe(input.payload);
      expect(result.event).toEqual(input);
    });

    it('survives a JSON round trip (what BullMQ does to job data)', () => {
      for (const type of EVENT_TYPES) {
        expect(validateClinicalEvent(JSON.parse(JSON.stringify(event(type)))).ok).toBe(true);
      }
    });

    it.each([['2025-01-20'], ['2025-01-20T00:00:00Z'], ['2025-01-20T00:00+05:30']])(
      'accepts diagnosisDate %s',
      (diagnosisDate) => {
        const input = event('patient.registered', { primarySite: 'arm', diagnosisDate });
        expect(validateClinicalEvent(input).ok).toBe(true);
      },
    );

    it.each([
      ['2025-02-03T09:00:00Z'],
      ['2025-02-03T09:00Z'],
      ['2025-02-03T09:00:00.123456-05:00'],
      ['2024-02-29T23:59:59+14:00'],
    ])('accepts occurredAt %s', (occurredAt) => {
      expect(validateClinicalEvent({ ...event('clinic.visited'), occurredAt }).ok).toBe(true);
    });

    it('accepts optional fields left out', () => {
      expect(validateClinicalEvent(event('mdt.decision', { decision: 'surveillance' })).ok).toBe(true);
      expect(validateClinicalEvent(event('recurrence.detected', { kind: 'distant' })).ok).toBe(true);
      expect(validateClinicalEvent(pathology({ closestMarginMm: undefined })).ok).toBe(true);
    });
  });

  describe('the input as a whole', () => {
    it.each([[null], [undefined], ['{"eventId":"x"}'], [42], [[event('clinic.visited')]]])(
      'rejects a non-object (%p) on (root)',
      (input) => {
        expect(errorsOf(input)).toEqual([{ field: '(root)', reason: 'must be a JSON object' }]);
      },
    );

    it('reports every missing envelope field at once', () => {
      expect(
        errorsOf({})
          .map((e) => e.field)
          .sort(),
      ).toEqual(['eventId', 'occurredAt', 'patientId', 'payload', 'schemaVersion', 'source', 'type'].sort());
      expect(errorsOf({}).every((e) => e.reason === 'is required')).toBe(true);
    });

    it('reports envelope and payload errors together', () => {
      const input = { ...pathology({ margin: 'R9' }), patientId: '' };
      expect(errorsOf(input)).toEqual([
        { field: 'patientId', reason: 'must not be empty' },
        { field: 'payload.margin', reason: "must be one of: 'R0', 'R1', 'R2'" },
      ]);
    });
  });

  describe('envelope', () => {
    it('rejects an unknown envelope field, naming it', () => {
      expect(errorsOf({ ...event('clinic.visited'), priority: 'high' })).toEqual([
        { field: 'priority', reason: 'unknown field' },
      ]);
    });

    it.each([['__proto__'], ['constructor']])('rejects the unknown field %s, naming it', (key) => {
      const input = JSON.parse(`{"${key}": {"x": 1}}`) as object;
      expect(reasonFor({ ...event('clinic.visited'), ...input }, key)).toBe('unknown field');
    });

    it('rejects an unknown type on field type, without validating the payload', () => {
      const errors = errorsOf({ ...event('clinic.visited'), type: 'patient.teleported' });
      expect(errors).toHaveLength(1);
      expect(errors[0].field).toBe('type');
      expect(errors[0].reason).toMatch(/^unknown event type; must be one of: 'patient.registered', /);
    });

    it.each([
      ['evt:1', "must not contain ':'"],
      ['', 'must not be empty'],
      ['   ', 'must not be empty'],
      ['x'.repeat(201), 'must be at most 200 characters'],
      [12345, 'must be a string'],
      ['12345', 'must not be an integer (BullMQ reserves integer job ids)'],
    ])('rejects eventId %p', (eventId, reason) => {
      expect(reasonFor({ ...event('clinic.visited'), eventId }, 'eventId')).toBe(reason);
    });

    it('accepts an eventId of exactly 200 characters, and a zero-padded number', () => {
      expect(validateClinicalEvent({ ...event('clinic.visited'), eventId: 'x'.repeat(200) }).ok).toBe(true);
      expect(validateClinicalEvent({ ...event('clinic.visited'), eventId: '0012345' }).ok).toBe(true);
    });

    it.each([
      ['', 'must not be empty'],
      ['p'.repeat(101), 'must be at most 100 characters'],
      [null, 'is required'],
    ])('rejects patientId %p', (patientId, reason) => {
      expect(reasonFor({ ...event('clinic.visited'), patientId }, 'patientId')).toBe(reason);
    });

    it.each([
      ['2025-02-03T09:00:00'],
      ['2025-02-03 09:00:00+01:00'],
      ['2025-02-03'],
      ['2025-02-03T09:00:00+0100'],
      ['2025-02-03T09:00:00+25:00'],
      ['03/02/2025 09:00'],
      [1738569600000],
    ])('rejects occurredAt %p (no offset or not ISO 8601)', (occurredAt) => {
      expect(reasonFor({ ...event('clinic.visited'), occurredAt }, 'occurredAt')).toMatch(
        /^must be an ISO 8601 date-time with a UTC offset/,
      );
    });

    it.each([['2025-02-30T09:00:00Z'], ['2025-02-03T24:30:00Z'], ['2025-02-03T09:60:00Z']])(
      'rejects impossible occurredAt %s',
      (occurredAt) => {
        expect(reasonFor({ ...event('clinic.visited'), occurredAt }, 'occurredAt')).toMatch(
          /^(is not a valid|must be)/,
        );
      },
    );

    it.each([[2], ['1'], [null]])('rejects schemaVersion %p', (schemaVersion) => {
      expect(reasonFor({ ...event('clinic.visited'), schemaVersion }, 'schemaVersion')).toBe(
        schemaVersion === null ? 'is required' : 'must be 1',
      );
    });

    it('rejects an empty or over-long source and correlationId', () => {
      expect(reasonFor({ ...event('clinic.visited'), source: '' }, 'source')).toBe('must not be empty');
      expect(reasonFor({ ...event('clinic.visited'), correlationId: 'c'.repeat(201) }, 'correlationId')).toBe(
        'must be at most 200 characters',
      );
      expect(reasonFor({ ...event('clinic.visited'), correlationId: null }, 'correlationId')).toBe('must be a string');
    });

    it.each([
      [null, 'is required'],
      [[], 'must be an object'],
      ['{}', 'must be an object'],
    ])('rejects payload %p', (payload, reason) => {
      expect(errorsOf({ ...event('clinic.visited'), payload })).toEqual([{ field: 'payload', reason }]);
    });
  });

  describe('payloads', () => {
    it('rejects an unknown payload field, naming it', () => {
      expect(errorsOf(pathology({ colour: 'blue' }))).toEqual([{ field: 'payload.colour', reason: 'unknown field' }]);
      expect(errorsOf(event('patient.deceased', { cause: 'x' }))).toEqual([
        { field: 'payload.cause', reason: 'unknown field' },
      ]);
    });

    it('rejects a missing required payload field', () => {
      const { margin: _margin, ...rest } = PAYLOADS['pathology.reported'];
      expect(errorsOf(event('pathology.reported', rest))).toEqual([{ field: 'payload.margin', reason: 'is required' }]);
    });

    it('validates the payload with the class chosen by type', () => {
      // a valid surgery payload is not a valid pathology payload
      const errors = errorsOf(event('pathology.reported', PAYLOADS['surgery.performed']));
      expect(errors).toEqual(
        expect.arrayContaining([
          { field: 'payload.procedure', reason: 'unknown field' },
          { field: 'payload.performedAt', reason: 'unknown field' },
          { field: 'payload.reportId', reason: 'is required' },
        ]),
      );
    });

    it('pathology.unstructured names the items a person must abstract, from the known list only', () => {
      const input = (missing: unknown) =>
        event('pathology.unstructured', { reportId: 'R-1', status: 'final', missing });
      const unstructured = (missing: unknown) => errorsOf(input(missing));
      expect(validateClinicalEvent(input(['margin'])).ok).toBe(true);
      expect(unstructured([])).toEqual([{ field: 'payload.missing', reason: expect.stringMatching(/at least 1/) }]);
      expect(unstructured(['margin', 'mood'])).toEqual([
        { field: 'payload.missing', reason: expect.stringContaining('each item must be one of: margin, grade') },
      ]);
      expect(unstructured('margin')).toEqual([{ field: 'payload.missing', reason: expect.stringMatching(/array/) }]);
    });

    it.each([
      [{ margin: 'R3' }, 'payload.margin', "must be one of: 'R0', 'R1', 'R2'"],
      [{ status: 'preliminary' }, 'payload.status', "must be one of: 'final', 'corrected'"],
      [{ depth: 'DEEP' }, 'payload.depth', "must be one of: 'superficial', 'deep'"],
      [{ grade: 4 }, 'payload.grade', 'must be one of: 1, 2, 3'],
      [{ grade: 2.5 }, 'payload.grade', 'must be one of: 1, 2, 3'],
      [{ grade: '2' }, 'payload.grade', 'must be one of: 1, 2, 3'],
      [{ sizeCm: 0 }, 'payload.sizeCm', 'must be greater than 0'],
      [{ sizeCm: -1 }, 'payload.sizeCm', 'must be greater than 0'],
      [{ sizeCm: '5' }, 'payload.sizeCm', 'must be a finite number'],
      [{ closestMarginMm: -0.5 }, 'payload.closestMarginMm', 'must be at least 0'],
      [{ closestMarginMm: null }, 'payload.closestMarginMm', 'must be a finite number'],
      [{ histology: 'h'.repeat(201) }, 'payload.histology', 'must be at most 200 characters'],
      [{ reportId: '' }, 'payload.reportId', 'must not be empty'],
    ])('pathology.reported %p → %s: %s', (overrides, field, reason) => {
      expect(errorsOf(pathology(overrides))).toEqual([{ field, reason }]);
    });

    it('rejects non-finite sizes that JSON cannot carry but a JS publisher could', () => {
      expect(reasonFor(pathology({ sizeCm: Number.NaN }), 'payload.sizeCm')).toBe('must be a finite number');
      expect(reasonFor(pathology({ sizeCm: Infinity }), 'payload.sizeCm')).toBe('must be a finite number');
    });

    it.each([
      [
        'patient.registered',
        { primarySite: 'arm', diagnosisDate: '20/01/2025' },
        'payload.diagnosisDate',
        /^must be an ISO 8601 date \(YYYY-MM-DD\) or a date-time/,
      ],
      [
        'patient.registered',
        { primarySite: 'arm', diagnosisDate: '2025-01-20T10:00:00' },
        'payload.diagnosisDate',
        /^must be an ISO 8601 date \(YYYY-MM-DD\) or a date-time/,
      ],
      [
        'patient.registered',
        { primarySite: 'arm', diagnosisDate: '2025-02-30' },
        'payload.diagnosisDate',
        /^is not a valid calendar date$/,
      ],
      [
        'patient.registered',
        { primarySite: '', diagnosisDate: '2025-01-20' },
        'payload.primarySite',
        /^must not be empty$/,
      ],
      [
        'patient.registered',
        { primarySite: 'arm', diagnosisDate: '2025-01-20', careTeam: 'c'.repeat(101) },
        'payload.careTeam',
        /^must be at most 100 characters$/,
      ],
      [
        'surgery.performed',
        { procedure: 'excision', performedAt: '2025-02-03T08:15:00Z' },
        'payload.procedure',
        /^must be one of: 'wide-excision', /,
      ],
      [
        'surgery.performed',
        { procedure: 'amputation', performedAt: '2025-02-03T08:15:00' },
        'payload.performedAt',
        /^must be an ISO 8601 date-time with a UTC offset/,
      ],
      ['mdt.decision', { decision: 'chemo' }, 'payload.decision', /^must be one of: 're-excise', /],
      [
        'mdt.decision',
        { decision: 'surveillance', note: 'n'.repeat(4001) },
        'payload.note',
        /^must be at most 4000 characters$/,
      ],
      [
        'radiotherapy.completed',
        { completedAt: '2025-04-30', setting: 'adjuvant' },
        'payload.completedAt',
        /^must be an ISO 8601 date-time with a UTC offset/,
      ],
      [
        'radiotherapy.completed',
        { completedAt: '2025-04-30T16:00:00Z', setting: 'palliative' },
        'payload.setting',
        /^must be one of: 'neoadjuvant', 'adjuvant'$/,
      ],
      [
        'imaging.reported',
        { modality: 'mri', region: 'chest', finding: 'suspicious' },
        'payload.modality',
        /^must be one of: 'MRI', /,
      ],
      [
        'imaging.reported',
        { modality: 'MRI', region: 'abdomen', finding: 'suspicious' },
        'payload.region',
        /^must be one of: 'primary-site', /,
      ],
      [
        'imaging.reported',
        { modality: 'MRI', region: 'chest', finding: 'unclear' },
        'payload.finding',
        /^must be one of: 'no-evidence-of-disease', /,
      ],
      [
        'clinic.visited',
        { visitedAt: '2025-08-01T10:30:00' },
        'payload.visitedAt',
        /^must be an ISO 8601 date-time with a UTC offset/,
      ],
      ['recurrence.detected', { kind: 'regional' }, 'payload.kind', /^must be one of: 'local', 'distant'$/],
      ['patient.transferred', { note: 42 }, 'payload.note', /^must be a string$/],
    ] as const)('%s %p → %s', (type, payload, field, reason) => {
      expect(reasonFor(event(type, payload), field)).toMatch(reason);
    });
  });

  it('never echoes field values in reasons', () => {
    const secret = 'MRN-SECRET-9999';
    const input = {
      ...pathology({ margin: secret, histology: secret.repeat(30) }),
      occurredAt: secret,
      eventId: `${secret}:`,
    };
    const text = JSON.stringify(errorsOf(input));
    expect(text).not.toContain(secret);
  });
});

describe('parseClinicalEvent', () => {
  it('returns the event when valid', () => {
    const input = event('imaging.reported');
    const parsed: ClinicalEvent = parseClinicalEvent(input);
    expect(parsed).toEqual(input);
  });

  it('throws ClinicalEventValidationError listing field: reason', () => {
    let caught: unknown;
    try {
      parseClinicalEvent({ ...pathology({ colour: 'red', sizeCm: 0 }), eventId: 'a:b' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ClinicalEventValidationError);
    const error = caught as ClinicalEventValidationError;
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ClinicalEventValidationError');
    expect(error.errors).toEqual([
      { field: 'eventId', reason: "must not contain ':'" },
      { field: 'payload.colour', reason: 'unknown field' },
      { field: 'payload.sizeCm', reason: 'must be greater than 0' },
    ]);
    expect(error.message).toBe(
      "invalid clinical event: eventId: must not contain ':'; payload.colour: unknown field; payload.sizeCm: must be greater than 0",
    );
  });
});
