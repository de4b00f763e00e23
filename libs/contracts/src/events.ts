/**
 * Event contract v1: what upstream systems (pathology LIS, surgical system, radiology, HTTP/HL7/FHIR intake)
 * publish. Plain types and constants only, so that publishers and the pure pathway can import them without
 * pulling in class-validator. The validating DTOs live in ./dto.
 */

export const SCHEMA_VERSION = 1 as const;

export const EVENT_TYPES = [
  'patient.registered',
  'surgery.performed',
  'pathology.reported',
  'pathology.unstructured',
  'mdt.decision',
  'radiotherapy.completed',
  'imaging.reported',
  'clinic.visited',
  'recurrence.detected',
  'patient.deceased',
  'patient.transferred',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const SURGICAL_PROCEDURES = [
  'wide-excision',
  'marginal-excision',
  'unplanned-excision',
  're-excision',
  'amputation',
] as const;
export type SurgicalProcedure = (typeof SURGICAL_PROCEDURES)[number];

export const MARGINS = ['R0', 'R1', 'R2'] as const;
export type Margin = (typeof MARGINS)[number];

export const FNCLCC_GRADES = [1, 2, 3] as const;
export type FnclccGrade = (typeof FNCLCC_GRADES)[number];

export const TUMOUR_DEPTHS = ['superficial', 'deep'] as const;
export type TumourDepth = (typeof TUMOUR_DEPTHS)[number];

export const REPORT_STATUSES = ['final', 'corrected'] as const;
export type ReportStatus = (typeof REPORT_STATUSES)[number];

/** The items of a pathology result the pathway reads (the names of PathologyReportedPayload's fields). */
export const PATHOLOGY_ITEMS = ['margin', 'grade', 'sizeCm', 'depth', 'histology', 'closestMarginMm'] as const;
export type PathologyItemName = (typeof PATHOLOGY_ITEMS)[number];

export const MDT_DECISIONS = [
  're-excise',
  'no-re-excision',
  'radiotherapy',
  'no-radiotherapy',
  'surveillance',
] as const;
export type MdtDecision = (typeof MDT_DECISIONS)[number];

export const RADIOTHERAPY_SETTINGS = ['neoadjuvant', 'adjuvant'] as const;
export type RadiotherapySetting = (typeof RADIOTHERAPY_SETTINGS)[number];

export const IMAGING_MODALITIES = ['MRI', 'CT', 'XR', 'US', 'PET-CT'] as const;
export type ImagingModality = (typeof IMAGING_MODALITIES)[number];

export const IMAGING_REGIONS = ['primary-site', 'chest', 'other'] as const;
export type ImagingRegion = (typeof IMAGING_REGIONS)[number];

export const IMAGING_FINDINGS = [
  'no-evidence-of-disease',
  'suspicious',
  'local-recurrence',
  'distant-metastasis',
] as const;
export type ImagingFinding = (typeof IMAGING_FINDINGS)[number];

export const RECURRENCE_KINDS = ['local', 'distant'] as const;
export type RecurrenceKind = (typeof RECURRENCE_KINDS)[number];

export interface PatientRegisteredPayload {
  primarySite: string;
  /** ISO 8601 date (YYYY-MM-DD) or date-time. */
  diagnosisDate: string;
  histology?: string;
  /** Care team code (routing hint), never a person's name. */
  careTeam?: string;
}

export interface SurgeryPerformedPayload {
  procedure: SurgicalProcedure;
  /** ISO 8601 date-time with offset. */
  performedAt: string;
}

export interface PathologyReportedPayload {
  reportId: string;
  status: ReportStatus;
  margin: Margin;
  grade: FnclccGrade;
  sizeCm: number;
  depth: TumourDepth;
  histology: string;
  closestMarginMm?: number;
}

/**
 * A pathology report received that the pathway cannot act on as it stands: an item it needs (the margin, most of
 * all) is not coded. Never guessed from free text: a person abstracts it (R-PATH-ABSTRACTION).
 */
export interface PathologyUnstructuredPayload {
  reportId: string;
  status: ReportStatus;
  /** The items not found coded, e.g. ["margin", "grade"]. */
  missing: PathologyItemName[];
}

export interface MdtDecisionPayload {
  decision: MdtDecision;
  /** Free text: stored, never logged, never emailed. */
  note?: string;
}

export interface RadiotherapyCompletedPayload {
  completedAt: string;
  setting: RadiotherapySetting;
}

export interface ImagingReportedPayload {
  modality: ImagingModality;
  region: ImagingRegion;
  finding: ImagingFinding;
}

export interface ClinicVisitedPayload {
  visitedAt: string;
}

export interface RecurrenceDetectedPayload {
  kind: RecurrenceKind;
  site?: string;
}

export interface PatientClosedPayload {
  note?: string;
}

export interface PayloadByType {
  'patient.registered': PatientRegisteredPayload;
  'surgery.performed': SurgeryPerformedPayload;
  'pathology.reported': PathologyReportedPayload;
  'pathology.unstructured': PathologyUnstructuredPayload;
  'mdt.decision': MdtDecisionPayload;
  'radiotherapy.completed': RadiotherapyCompletedPayload;
  'imaging.reported': ImagingReportedPayload;
  'clinic.visited': ClinicVisitedPayload;
  'recurrence.detected': RecurrenceDetectedPayload;
  'patient.deceased': PatientClosedPayload;
  'patient.transferred': PatientClosedPayload;
}

export interface ClinicalEventEnvelope<T extends EventType = EventType> {
  /** Unique per event; also the BullMQ jobId, so it must not contain ':'. */
  eventId: string;
  type: T;
  /** The hospital's opaque patient identifier. Never logged in clear. */
  patientId: string;
  /** ISO 8601 date-time with offset: when it happened clinically. */
  occurredAt: string;
  /** Publishing system name, e.g. "pathology-lis". */
  source: string;
  schemaVersion: typeof SCHEMA_VERSION;
  correlationId?: string;
  payload: PayloadByType[T];
}

/** A v1 clinical event, discriminated on `type`. */
export type ClinicalEvent = { [K in EventType]: ClinicalEventEnvelope<K> }[EventType];
