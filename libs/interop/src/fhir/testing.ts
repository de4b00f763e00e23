/** FHIR R4 pathology Bundles for tests: a DiagnosticReport, its Observations and the Patient. Fictitious data. */
import type { Bundle, Observation } from '@medplum/fhirtypes';
import type { FnclccGrade, Margin, TumourDepth } from '@app/contracts';
import { DEPTH_SYSTEM, FNCLCC_SYSTEM, LOINC, MARGIN_SYSTEM, OBSERVATION_SYSTEM } from '../codes';

export interface FhirReport {
  mrn: string;
  reportId: string;
  status?: string;
  issued?: string;
  margin?: Margin | null;
  grade?: FnclccGrade | null;
  depth?: TumourDepth | null;
  sizeCm?: number | null;
  histology?: string;
}

const obs = (id: string, code: { system: string; code: string }, value: Partial<Observation>): Observation => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [code] },
  subject: { reference: 'urn:uuid:patient-1' },
  ...value,
});

export function pathologyBundle(r: FhirReport): Bundle {
  const observations: Observation[] = [];
  if (r.margin !== null)
    observations.push(
      obs(
        'margin',
        { system: OBSERVATION_SYSTEM, code: 'margin-status' },
        {
          valueCodeableConcept: { coding: [{ system: MARGIN_SYSTEM, code: r.margin ?? 'R0' }] },
        },
      ),
    );
  if (r.grade !== null)
    observations.push(
      obs(
        'grade',
        { system: OBSERVATION_SYSTEM, code: 'fnclcc-grade' },
        {
          valueCodeableConcept: { coding: [{ system: FNCLCC_SYSTEM, code: String(r.grade ?? 3) }] },
        },
      ),
    );
  if (r.depth !== null)
    observations.push(
      obs(
        'depth',
        { system: OBSERVATION_SYSTEM, code: 'tumour-depth' },
        {
          valueCodeableConcept: { coding: [{ system: DEPTH_SYSTEM, code: r.depth ?? 'deep' }] },
        },
      ),
    );
  if (r.sizeCm !== null)
    observations.push(
      obs(
        'size',
        { system: LOINC, code: '21889-1' },
        {
          component: [
            {
              code: { coding: [{ system: LOINC, code: '33728-7' }] },
              valueQuantity: {
                value: (r.sizeCm ?? 7.5) * 10,
                unit: 'mm',
                system: 'http://unitsofmeasure.org',
                code: 'mm',
              },
            },
          ],
        },
      ),
    );
  observations.push(
    obs(
      'histology',
      { system: OBSERVATION_SYSTEM, code: 'histologic-type' },
      {
        valueCodeableConcept: { text: r.histology ?? 'Leiomyosarcoma' },
      },
    ),
  );
  return {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      {
        fullUrl: 'urn:uuid:patient-1',
        resource: {
          resourceType: 'Patient',
          identifier: [
            {
              type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
              value: r.mrn,
            },
          ],
        },
      },
      {
        fullUrl: 'urn:uuid:report-1',
        resource: {
          resourceType: 'DiagnosticReport',
          identifier: [{ system: 'urn:oid:2.16.840.1.113883.19.5', value: r.reportId }],
          status: (r.status ?? 'final') as 'final',
          code: { coding: [{ system: LOINC, code: '60568-3', display: 'Synoptic report' }] },
          subject: { reference: 'urn:uuid:patient-1' },
          issued: r.issued ?? '2025-06-10T14:30:00+02:00',
          result: observations.map((o) => ({ reference: `urn:uuid:${o.id}` })),
        },
      },
      ...observations.map((o) => ({ fullUrl: `urn:uuid:${o.id}`, resource: o })),
    ],
  };
}
