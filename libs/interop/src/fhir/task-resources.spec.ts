import { RULE_SYSTEM } from '../codes';
import { r4Problems } from './r4-validation';
import {
  CARE_TEAM_CODE_SYSTEM,
  CLINICAL_EVENT_ID_SYSTEM,
  IMAGING_PROCEDURE_SYSTEM,
  PATIENT_ID_SYSTEM,
  TASK_ID_SYSTEM,
  TASK_TYPE_DISPLAY,
  TASK_TYPE_SYSTEM,
  operationOutcome,
  parseDateSearch,
  serviceRequestStatus,
  toFhirServiceRequest,
  toFhirTask,
  toSearchBundle,
  type FhirTaskSource,
} from './task-resources';

const MEMBER = '6f1c2b1e-8d7a-4c55-9a51-0f4a2f7e9c01';
const task = (over: Partial<FhirTaskSource> = {}): FhirTaskSource => ({
  id: '0b7e6a52-3c1d-5f8e-9a2b-4c6d8e0f1a2b',
  patientId: 'P-1001',
  eventId: 'evt-recurrence-1',
  type: 'mdt-review',
  ruleId: 'R-LR-ESCALATE',
  priority: 'urgent',
  status: 'accepted',
  dueAt: '2030-06-01T09:00:00.000Z',
  reason: 'local recurrence: urgent MDT review (R-LR-ESCALATE)',
  modality: null,
  region: null,
  createdAt: '2030-05-30T09:00:01.000Z',
  updatedAt: '2030-05-30T10:15:00.000Z',
  closedAt: null,
  teamCode: 'tumour-board',
  assigneeId: MEMBER,
  acceptedAt: '2030-05-30T10:15:00.000Z',
  ...over,
});
const imaging = (over: Partial<FhirTaskSource> = {}) =>
  task({
    id: '1c8f7b63-4d2e-5a9f-8b3c-5d7e9f1a2b3c',
    type: 'imaging-order',
    modality: 'MRI',
    region: 'primary-site',
    reason: 'local recurrence: primary-site MRI (R-LR-ESCALATE)',
    ...over,
  });

describe('toFhirTask', () => {
  it('maps an assigned, accepted task field by field', () => {
    expect(toFhirTask(task())).toEqual({
      resourceType: 'Task',
      id: '0b7e6a52-3c1d-5f8e-9a2b-4c6d8e0f1a2b',
      meta: { lastUpdated: '2030-05-30T10:15:00.000Z' },
      identifier: [{ use: 'official', system: TASK_ID_SYSTEM, value: '0b7e6a52-3c1d-5f8e-9a2b-4c6d8e0f1a2b' }],
      status: 'accepted',
      intent: 'order',
      priority: 'asap',
      code: {
        coding: [{ system: TASK_TYPE_SYSTEM, code: 'mdt-review', display: TASK_TYPE_DISPLAY['mdt-review'] }],
        text: TASK_TYPE_DISPLAY['mdt-review'],
      },
      description: 'local recurrence: urgent MDT review (R-LR-ESCALATE)',
      focus: { identifier: { system: CLINICAL_EVENT_ID_SYSTEM, value: 'evt-recurrence-1' }, display: 'clinical event' },
      for: { reference: 'Patient/P-1001', type: 'Patient' },
      executionPeriod: { start: '2030-05-30T10:15:00.000Z' },
      authoredOn: '2030-05-30T09:00:01.000Z',
      lastModified: '2030-05-30T10:15:00.000Z',
      owner: { reference: `Practitioner/${MEMBER}`, type: 'Practitioner' },
      reasonCode: { coding: [{ system: RULE_SYSTEM, code: 'R-LR-ESCALATE' }] },
      restriction: { period: { end: '2030-06-01T09:00:00.000Z' } },
    });
    expect(TASK_TYPE_SYSTEM).toBe('https://sarcoma-pathway.example/fhir/CodeSystem/task-type');
    expect(RULE_SYSTEM).toBe('https://sarcoma-pathway.example/fhir/CodeSystem/pathway-rule');
  });

  it('priority: routine → routine, high → urgent, urgent → asap; an unknown one is left out, not guessed', () => {
    expect(
      ['routine', 'high', 'urgent', 'whenever'].map((priority) => toFhirTask(task({ priority })).priority),
    ).toEqual(['routine', 'urgent', 'asap', undefined]);
  });

  it('an imaging order focuses on its ServiceRequest; a team-only task is owned by the team; closed has an end', () => {
    const resource = toFhirTask(
      imaging({ assigneeId: null, acceptedAt: null, status: 'cancelled', closedAt: '2030-05-31T08:00:00.000Z' }),
    );
    expect(resource.focus).toEqual({
      reference: 'ServiceRequest/1c8f7b63-4d2e-5a9f-8b3c-5d7e9f1a2b3c',
      type: 'ServiceRequest',
    });
    expect(resource.owner).toEqual({
      type: 'Organization',
      identifier: { system: CARE_TEAM_CODE_SYSTEM, value: 'tumour-board' },
      display: 'care team tumour-board',
    });
    expect(resource.executionPeriod).toEqual({ end: '2030-05-31T08:00:00.000Z' });
    expect(resource.status).toBe('cancelled');
  });

  it('a task nobody has been routed to has no owner and no execution period', () => {
    const resource = toFhirTask(task({ teamCode: null, assigneeId: null, acceptedAt: null, status: 'requested' }));
    expect('owner' in resource).toBe(false);
    expect('executionPeriod' in resource).toBe(false);
  });

  it('a patient id that is not a FHIR id becomes a logical reference, never an invalid literal one', () => {
    expect(toFhirTask(task({ patientId: 'MRN 00123/4' })).for).toEqual({
      type: 'Patient',
      identifier: { system: PATIENT_ID_SYSTEM, value: 'MRN 00123/4' },
    });
  });

  it('refuses a status that is not a FHIR task-status code', () => {
    expect(() => toFhirTask(task({ status: 'open' }))).toThrow("task status 'open' is not a FHIR task-status code");
  });
});

describe('toFhirServiceRequest', () => {
  it('maps an imaging order: status, category, procedure code, patient, deadline, rule and reason', () => {
    expect(toFhirServiceRequest(imaging({ status: 'in-progress', priority: 'high' }))).toEqual({
      resourceType: 'ServiceRequest',
      id: '1c8f7b63-4d2e-5a9f-8b3c-5d7e9f1a2b3c',
      meta: { lastUpdated: '2030-05-30T10:15:00.000Z' },
      identifier: [{ use: 'official', system: TASK_ID_SYSTEM, value: '1c8f7b63-4d2e-5a9f-8b3c-5d7e9f1a2b3c' }],
      status: 'active',
      intent: 'order',
      category: [{ coding: [{ system: 'http://snomed.info/sct', code: '363679005', display: 'Imaging' }] }],
      priority: 'urgent',
      code: {
        coding: [{ system: IMAGING_PROCEDURE_SYSTEM, code: 'MRI-primary-site', display: 'MRI of the primary site' }],
        text: 'MRI of the primary site',
      },
      subject: { reference: 'Patient/P-1001', type: 'Patient' },
      occurrencePeriod: { end: '2030-06-01T09:00:00.000Z' },
      authoredOn: '2030-05-30T09:00:01.000Z',
      reasonCode: [
        {
          coding: [{ system: RULE_SYSTEM, code: 'R-LR-ESCALATE' }],
          text: 'local recurrence: primary-site MRI (R-LR-ESCALATE)',
        },
      ],
    });
  });

  it.each([
    ['requested', 'active'],
    ['accepted', 'active'],
    ['in-progress', 'active'],
    ['on-hold', 'on-hold'],
    ['completed', 'completed'],
    ['cancelled', 'revoked'],
    ['rejected', 'revoked'],
  ])('task status %s → ServiceRequest status %s', (status, expected) => {
    expect(toFhirServiceRequest(imaging({ status })).status).toBe(expected);
    expect(serviceRequestStatus(status)).toBe(expected);
  });

  it('codes every modality and region; without a modality or region there is text and no code', () => {
    expect(toFhirServiceRequest(imaging({ modality: 'CT', region: 'chest' })).code).toEqual({
      coding: [{ system: IMAGING_PROCEDURE_SYSTEM, code: 'CT-chest', display: 'CT of the chest' }],
      text: 'CT of the chest',
    });
    expect(toFhirServiceRequest(imaging({ modality: 'XR', region: null })).code).toEqual({ text: 'X-ray' });
    expect(toFhirServiceRequest(imaging({ modality: null, region: null })).code).toEqual({ text: 'Imaging' });
  });

  it('is for imaging orders only', () => {
    expect(() => toFhirServiceRequest(task())).toThrow("task type 'mdt-review' is not an imaging order");
  });
});

describe('toSearchBundle and operationOutcome', () => {
  const base = 'https://pathway.example/fhir';

  it('a searchset with total, self/next/previous links and one match entry per resource', () => {
    const resources = [toFhirTask(task()), toFhirTask(imaging())];
    const bundle = toSearchBundle(resources, 7, `${base}/Task?_count=2&_offset=2`, {
      baseUrl: base,
      next: `${base}/Task?_count=2&_offset=4`,
      previous: `${base}/Task?_count=2&_offset=0`,
    });
    expect(bundle).toEqual({
      resourceType: 'Bundle',
      type: 'searchset',
      total: 7,
      link: [
        { relation: 'self', url: `${base}/Task?_count=2&_offset=2` },
        { relation: 'next', url: `${base}/Task?_count=2&_offset=4` },
        { relation: 'previous', url: `${base}/Task?_count=2&_offset=0` },
      ],
      entry: [
        { fullUrl: `${base}/Task/${task().id}`, resource: resources[0], search: { mode: 'match' } },
        { fullUrl: `${base}/Task/${imaging().id}`, resource: resources[1], search: { mode: 'match' } },
      ],
    });
  });

  it('an empty page has a total and a self link and no entry array', () => {
    expect(toSearchBundle([], 0, `${base}/Task?status=completed`, { baseUrl: base })).toEqual({
      resourceType: 'Bundle',
      type: 'searchset',
      total: 0,
      link: [{ relation: 'self', url: `${base}/Task?status=completed` }],
    });
  });

  it('an OperationOutcome with one issue', () => {
    expect(operationOutcome('error', 'not-found', 'Task/x is not known')).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'not-found', diagnostics: 'Task/x is not known' }],
    });
  });
});

describe('parseDateSearch (_lastUpdated): FHIR prefixes on a value as wide as its precision', () => {
  it.each([
    [
      '2030-01-01',
      [
        ['ge', '2030-01-01T00:00:00.000Z'],
        ['lt', '2030-01-02T00:00:00.000Z'],
      ],
    ],
    [
      'eq2030-02',
      [
        ['ge', '2030-02-01T00:00:00.000Z'],
        ['lt', '2030-03-01T00:00:00.000Z'],
      ],
    ],
    ['ge2030-01-01', [['ge', '2030-01-01T00:00:00.000Z']]],
    ['gt2030-01-01', [['ge', '2030-01-02T00:00:00.000Z']]],
    ['lt2030-01-01', [['lt', '2030-01-01T00:00:00.000Z']]],
    ['le2030', [['lt', '2031-01-01T00:00:00.000Z']]],
    ['gt2030-12', [['ge', '2031-01-01T00:00:00.000Z']]],
    ['ge2030-06-01T10:00:00+02:00', [['ge', '2030-06-01T08:00:00.000Z']]],
    ['le2030-06-01T10:00:00-05:30', [['lt', '2030-06-01T15:30:01.000Z']]],
    ['gt2030-06-01T10:00Z', [['ge', '2030-06-01T10:01:00.000Z']]],
    [
      'eq2030-06-01T10:00:00.25Z',
      [
        ['ge', '2030-06-01T10:00:00.250Z'],
        ['lt', '2030-06-01T10:00:00.260Z'],
      ],
    ],
    ['gt2030-06-01T10:00:00.123456Z', [['ge', '2030-06-01T10:00:00.124Z']]],
    ['ge2030-06-01T10:00:00', [['ge', '2030-06-01T10:00:00.000Z']]],
  ])('%s', (value, expected) => {
    expect(parseDateSearch(value)).toEqual(expected.map(([op, at]) => ({ op, at })));
  });

  it.each([
    ['banana', 'is not a FHIR date search value'],
    ['ge2030-1-01', 'is not a FHIR date search value'],
    ['2030-01-01 10:00', 'is not a FHIR date search value'],
    ['ge2030-02-30', 'is not a valid date'],
    ['ge2030-13-01', 'is not a valid date'],
    ['ge2030-01-01T24:00:00Z', 'is not a valid date'],
    ['ge2030-01-01T10:00:00+15:00', 'invalid time zone offset'],
    ['ne2030-01-01', "date prefix 'ne' is not supported"],
    ['ap2030-01-01', "date prefix 'ap' is not supported"],
  ])('refuses %s', (value, message) => {
    const result = parseDateSearch(value);
    expect(result).toEqual({ error: expect.stringContaining(message) });
  });
});

describe('validates as FHIR R4', () => {
  const STATUSES = ['requested', 'accepted', 'in-progress', 'on-hold', 'completed', 'cancelled', 'rejected'];
  const TYPES = Object.keys(TASK_TYPE_DISPLAY);

  it('the validator catches what it must (so a pass below means something)', () => {
    const good = toFhirTask(task());
    expect(r4Problems(good)).toEqual([]);
    expect(r4Problems({ ...good, status: 'open' } as never)).toEqual([
      expect.stringContaining("Task.status: 'open' is not in http://hl7.org/fhir/ValueSet/task-status"),
    ]);
    expect(r4Problems({ ...good, priority: 'high' } as never)).toEqual([
      expect.stringContaining("Task.priority: 'high' is not in"),
    ]);
    expect(r4Problems({ ...good, authoredOn: '2030-05-30 09:00' })).toEqual([
      expect.stringContaining('Invalid dateTime format'),
    ]);
    expect(r4Problems({ ...good, owner: { reference: 'Practitioner/x', colour: 'red' } } as never)).toEqual([
      expect.stringContaining('Invalid additional property "colour"'),
    ]);
    expect(r4Problems({ ...good, reasonCode: [good.reasonCode] } as never).length).toBeGreaterThan(0);
    const sr = toFhirServiceRequest(imaging());
    expect(r4Problems({ ...sr, status: 'cancelled' } as never)).toEqual([
      expect.stringContaining("ServiceRequest.status: 'cancelled' is not in"),
    ]);
    const bundle = toSearchBundle([good], 1, 'https://x/fhir/Task', { baseUrl: 'https://x/fhir' });
    expect(r4Problems({ ...bundle, entry: [{ ...bundle.entry![0], search: { mode: 'hit' } }] } as never)).toEqual([
      expect.stringContaining("Bundle.entry[0].search.mode: 'hit' is not in"),
    ]);
    expect(r4Problems(operationOutcome('error', 'nonsense' as never, 'x'))).toEqual([
      expect.stringContaining("OperationOutcome.issue[0].code: 'nonsense' is not in"),
    ]);
  });

  it('every task type in every status, assigned, team-only or unrouted, as a Task', () => {
    const problems: string[] = [];
    for (const type of TYPES)
      for (const status of STATUSES)
        for (const owner of [{}, { assigneeId: null }, { assigneeId: null, teamCode: null }]) {
          const closed = ['completed', 'cancelled', 'rejected'].includes(status) ? '2030-06-02T00:00:00.000Z' : null;
          const resource = toFhirTask(
            task({ type, status, closedAt: closed, modality: type === 'imaging-order' ? 'CT' : null, ...owner }),
          );
          problems.push(...r4Problems(resource).map((p) => `${type}/${status}: ${p}`));
        }
    expect(problems).toEqual([]);
  });

  it('imaging orders in every status and modality as ServiceRequests, a search Bundle of both, an OperationOutcome', () => {
    const orders = STATUSES.flatMap((status) =>
      ['MRI', 'CT', 'XR', 'US', 'PET-CT', null].map((modality, i) =>
        toFhirServiceRequest(
          imaging({
            id: `1c8f7b63-4d2e-5a9f-8b3c-5d7e9f1a2b${STATUSES.indexOf(status)}${i}`,
            status,
            modality,
            region: modality ? 'chest' : null,
            priority: 'routine',
            patientId: i === 0 ? 'MRN 7' : 'P-7',
          }),
        ),
      ),
    );
    const problems = orders.flatMap((o) => r4Problems(o).map((p) => `${o.status}/${o.code?.text}: ${p}`));
    const base = 'https://pathway.example/fhir';
    const bundle = toSearchBundle([...orders, toFhirTask(task())], 99, `${base}/ServiceRequest?_count=43`, {
      baseUrl: base,
      next: `${base}/ServiceRequest?_count=43&_offset=43`,
    });
    problems.push(...r4Problems(bundle));
    problems.push(...r4Problems(toSearchBundle([], 0, `${base}/Task`, { baseUrl: base })));
    problems.push(...r4Problems(operationOutcome('error', 'not-found', 'Task/x is not known')));
    expect(problems).toEqual([]);
  });
});
