/** Builders of v1 events for the pathway's own tests (pure; not exported from the lib's index). */
import { SCHEMA_VERSION, type ClinicalEvent, type EventType, type PayloadByType } from '@app/contracts';

let counter = 0;

export function ev<T extends EventType>(
  type: T,
  occurredAt: string,
  payload: PayloadByType[T],
  eventId = `e${++counter}`,
): ClinicalEvent {
  return {
    eventId,
    type,
    patientId: 'P-TEST',
    occurredAt,
    source: 'test',
    schemaVersion: SCHEMA_VERSION,
    payload,
  } as ClinicalEvent;
}

export const registered = (at = '2025-01-01T09:00:00Z') =>
  ev('patient.registered', at, { primarySite: 'thigh', diagnosisDate: '2024-12-20' });

export const surgery = (procedure: PayloadByType['surgery.performed']['procedure'], at = '2025-02-01T09:00:00Z') =>
  ev('surgery.performed', at, { procedure, performedAt: at });

export const pathology = (over: Partial<PayloadByType['pathology.reported']> = {}, at = '2025-02-10T12:00:00Z') =>
  ev('pathology.reported', at, {
    reportId: 'RPT-1',
    status: 'final',
    margin: 'R0',
    grade: 1,
    sizeCm: 3,
    depth: 'superficial',
    histology: 'liposarcoma',
    ...over,
  });

export const highRisk = { grade: 3 as const, sizeCm: 8, depth: 'deep' as const };

export const mdt = (decision: PayloadByType['mdt.decision']['decision'], at = '2025-02-20T12:00:00Z') =>
  ev('mdt.decision', at, { decision });
