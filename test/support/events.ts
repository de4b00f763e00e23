import { SCHEMA_VERSION, type ClinicalEvent, type EventType, type PayloadByType } from '@app/contracts';

/** A hand-written event for a named test patient; ids are unique per call site through `id`. */
export function clinicalEvent<T extends EventType>(
  id: string,
  patientId: string,
  type: T,
  occurredAt: string,
  payload: PayloadByType[T],
): ClinicalEvent {
  return {
    eventId: id,
    type,
    patientId,
    occurredAt,
    source: 'test',
    schemaVersion: SCHEMA_VERSION,
    payload,
  } as ClinicalEvent;
}

/** Registration, wide excision and an R1 result: the pathway's most common call to action (R-MARGIN-R1). */
export function marginPositiveJourney(prefix: string, patientId: string): ClinicalEvent[] {
  return [
    clinicalEvent(`${prefix}-1`, patientId, 'patient.registered', '2025-01-06T09:00:00+01:00', {
      primarySite: 'thigh',
      diagnosisDate: '2025-01-03',
      careTeam: 'sarcoma-north',
    }),
    clinicalEvent(`${prefix}-2`, patientId, 'surgery.performed', '2025-02-03T10:00:00+01:00', {
      procedure: 'marginal-excision',
      performedAt: '2025-02-03T10:00:00+01:00',
    }),
    clinicalEvent(`${prefix}-3`, patientId, 'pathology.reported', '2025-02-10T14:30:00+01:00', {
      reportId: `RPT-${prefix}`,
      status: 'final',
      margin: 'R1',
      grade: 3,
      sizeCm: 7.5,
      depth: 'deep',
      histology: 'myxofibrosarcoma',
      closestMarginMm: 0,
    }),
  ];
}

/**
 * A sarcoma-north patient in 2030: an R0 low-grade result (surveillance), radiotherapy nobody planned (kept, with a
 * data-quality review: R-UNEXPECTED), then a local recurrence (R-LR-ESCALATE: urgent MDT review and two imaging orders).
 */
export function localRecurrenceJourney(prefix: string, patientId: string): ClinicalEvent[] {
  return [
    clinicalEvent(`${prefix}-1`, patientId, 'patient.registered', '2030-03-01T09:00:00Z', {
      primarySite: 'forearm',
      diagnosisDate: '2030-02-20',
      careTeam: 'sarcoma-north',
    }),
    clinicalEvent(`${prefix}-2`, patientId, 'surgery.performed', '2030-03-10T09:00:00Z', {
      procedure: 'wide-excision',
      performedAt: '2030-03-10T09:00:00Z',
    }),
    clinicalEvent(`${prefix}-3`, patientId, 'pathology.reported', '2030-03-17T09:00:00Z', {
      reportId: `RPT-${prefix}`,
      status: 'final',
      margin: 'R0',
      grade: 1,
      sizeCm: 2,
      depth: 'superficial',
      histology: 'liposarcoma',
    }),
    clinicalEvent(`${prefix}-4`, patientId, 'radiotherapy.completed', '2030-04-01T09:00:00Z', {
      completedAt: '2030-04-01T09:00:00Z',
      setting: 'adjuvant',
    }),
    clinicalEvent(`${prefix}-5`, patientId, 'recurrence.detected', '2030-05-30T09:00:00Z', { kind: 'local' }),
  ];
}
