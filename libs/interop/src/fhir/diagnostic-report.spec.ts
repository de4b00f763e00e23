import { validateClinicalEvent } from '@app/contracts';
import { SNOMED } from '../codes';
import { eventsOf, pathologyFromBundle } from './diagnostic-report';
import { pathologyBundle } from './testing';

const base = { mrn: 'MRN-F1', reportId: 'SP-F1' };

describe('FHIR R4 DiagnosticReport bundle to pathology events', () => {
  it.each([
    ['R0', 1, 'superficial'],
    ['R1', 2, 'deep'],
    ['R2', 3, 'deep'],
  ] as const)('margin %s, grade %s, %s: one pathology.reported with every item', (margin, grade, depth) => {
    const result = pathologyFromBundle(pathologyBundle({ ...base, margin, grade, depth, sizeCm: 6.5 }));
    expect(result.issues).toEqual([]);
    const [event] = eventsOf(result);
    expect(event).toMatchObject({
      type: 'pathology.reported',
      patientId: 'MRN-F1',
      occurredAt: '2025-06-10T14:30:00+02:00',
      payload: { reportId: 'SP-F1', status: 'final', margin, grade, depth, sizeCm: 6.5, histology: 'Leiomyosarcoma' },
    });
    expect(validateClinicalEvent(event).ok).toBe(true);
  });

  it('the same bundle sent twice gives the same event id; an amended report is a correction with another id', () => {
    const first = eventsOf(pathologyFromBundle(pathologyBundle(base)))[0];
    expect(eventsOf(pathologyFromBundle(pathologyBundle(base)))[0].eventId).toBe(first.eventId);
    const amended = eventsOf(
      pathologyFromBundle(pathologyBundle({ ...base, status: 'amended', issued: '2025-06-12T09:00:00Z' })),
    )[0];
    expect(amended.payload).toMatchObject({ status: 'corrected' });
    expect(amended.eventId).not.toBe(first.eventId);
  });

  it('an mCODE grade (SNOMED CT high grade) is FNCLCC 3', () => {
    const bundle = pathologyBundle({ ...base, grade: null });
    const report = bundle.entry!.find((e) => e.resource?.resourceType === 'DiagnosticReport')!.resource as {
      result: { reference: string }[];
    };
    report.result.push({ reference: 'urn:uuid:mcode-grade' });
    bundle.entry!.push({
      fullUrl: 'urn:uuid:mcode-grade',
      resource: {
        resourceType: 'Observation',
        status: 'final',
        code: {
          coding: [
            { system: 'https://sarcoma-pathway.example/fhir/CodeSystem/pathology-observation', code: 'fnclcc-grade' },
          ],
        },
        valueCodeableConcept: { coding: [{ system: SNOMED, code: '1155707008' }] },
      },
    });
    expect(eventsOf(pathologyFromBundle(bundle))[0].payload).toMatchObject({ grade: 3 });
  });

  it('R-PATH-ABSTRACTION: a margin given as text only is not read: pathology.unstructured naming it', () => {
    const bundle = pathologyBundle({ ...base, margin: null });
    const report = bundle.entry!.find((e) => e.resource?.resourceType === 'DiagnosticReport')!.resource as {
      result: { reference: string }[];
    };
    report.result.push({ reference: 'urn:uuid:text-margin' });
    bundle.entry!.push({
      fullUrl: 'urn:uuid:text-margin',
      resource: {
        resourceType: 'Observation',
        status: 'final',
        code: {
          coding: [
            { system: 'https://sarcoma-pathway.example/fhir/CodeSystem/pathology-observation', code: 'margin-status' },
          ],
        },
        valueString: 'margins clear',
      },
    });
    const result = pathologyFromBundle(bundle);
    expect(result.outcomes).toEqual([expect.objectContaining({ kind: 'needs-abstraction', missing: ['margin'] })]);
  });

  it('every problem is an OperationOutcome issue with the path', () => {
    expect(pathologyFromBundle({ resourceType: 'Patient' }).issues).toEqual([
      { severity: 'error', code: 'structure', expression: ['Bundle'], diagnostics: expect.stringContaining('Bundle') },
    ]);
    expect(pathologyFromBundle({ resourceType: 'Bundle', type: 'collection', entry: [] }).issues[0]).toMatchObject({
      code: 'required',
      diagnostics: 'the Bundle holds no DiagnosticReport',
    });
    expect(pathologyFromBundle(pathologyBundle({ ...base, status: 'preliminary' })).issues[0]).toMatchObject({
      code: 'business-rule',
      expression: ['Bundle.entry[1].resource.status'],
    });
    const noMrn = pathologyBundle(base);
    (noMrn.entry![0].resource as { identifier: unknown[] }).identifier = [{ value: '123-45-6789' }];
    expect(pathologyFromBundle(noMrn).issues[0]).toMatchObject({
      code: 'required',
      expression: ['Bundle.entry[1].resource.subject'],
    });
    expect(pathologyFromBundle(pathologyBundle({ ...base, issued: '2025-06-10' })).issues[0]).toMatchObject({
      expression: ['Bundle.entry[1].resource.issued'],
    });
  });
});
