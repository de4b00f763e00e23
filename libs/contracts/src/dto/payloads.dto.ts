import {
  ClinicVisitedPayload,
  EventType,
  FNCLCC_GRADES,
  FnclccGrade,
  IMAGING_FINDINGS,
  IMAGING_MODALITIES,
  IMAGING_REGIONS,
  ImagingFinding,
  ImagingModality,
  ImagingRegion,
  ImagingReportedPayload,
  MARGINS,
  MDT_DECISIONS,
  Margin,
  MdtDecision,
  MdtDecisionPayload,
  PATHOLOGY_ITEMS,
  PathologyItemName,
  PathologyReportedPayload,
  PathologyUnstructuredPayload,
  PatientClosedPayload,
  PatientRegisteredPayload,
  RADIOTHERAPY_SETTINGS,
  RECURRENCE_KINDS,
  REPORT_STATUSES,
  RadiotherapyCompletedPayload,
  RadiotherapySetting,
  RecurrenceDetectedPayload,
  RecurrenceKind,
  ReportStatus,
  SURGICAL_PROCEDURES,
  SurgeryPerformedPayload,
  SurgicalProcedure,
  TUMOUR_DEPTHS,
  TumourDepth,
} from '../events';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn } from 'class-validator';
import { IsDateOrDateTime, IsDateTimeWithOffset, IsFiniteNumber, IsOneOf, IsText, Optional, Required } from './rules';

/** Length limits for the free-text and code fields of the payloads. */
export const TEXT_LIMITS = {
  code: 100,
  label: 200,
  note: 4000,
} as const;

export class PatientRegisteredPayloadDto implements PatientRegisteredPayload {
  @Required()
  @IsText({ max: TEXT_LIMITS.label })
  primarySite!: string;

  @Required()
  @IsDateOrDateTime()
  diagnosisDate!: string;

  @Optional()
  @IsText({ max: TEXT_LIMITS.label })
  histology?: string;

  @Optional()
  @IsText({ max: TEXT_LIMITS.code })
  careTeam?: string;
}

export class SurgeryPerformedPayloadDto implements SurgeryPerformedPayload {
  @Required()
  @IsOneOf(SURGICAL_PROCEDURES)
  procedure!: SurgicalProcedure;

  @Required()
  @IsDateTimeWithOffset()
  performedAt!: string;
}

export class PathologyReportedPayloadDto implements PathologyReportedPayload {
  @Required()
  @IsText({ max: TEXT_LIMITS.label })
  reportId!: string;

  @Required()
  @IsOneOf(REPORT_STATUSES)
  status!: ReportStatus;

  @Required()
  @IsOneOf(MARGINS)
  margin!: Margin;

  @Required()
  @IsOneOf(FNCLCC_GRADES)
  grade!: FnclccGrade;

  @Required()
  @IsFiniteNumber({ greaterThan: 0 })
  sizeCm!: number;

  @Required()
  @IsOneOf(TUMOUR_DEPTHS)
  depth!: TumourDepth;

  @Required()
  @IsText({ max: TEXT_LIMITS.label })
  histology!: string;

  @Optional()
  @IsFiniteNumber({ min: 0 })
  closestMarginMm?: number;
}

export class PathologyUnstructuredPayloadDto implements PathologyUnstructuredPayload {
  @Required()
  @IsText({ max: TEXT_LIMITS.label })
  reportId!: string;

  @Required()
  @IsOneOf(REPORT_STATUSES)
  status!: ReportStatus;

  // (decorators run bottom-up: the shape is checked before the items)
  @Required()
  @IsIn(PATHOLOGY_ITEMS, { each: true, message: `each item must be one of: ${PATHOLOGY_ITEMS.join(', ')}` })
  @ArrayMaxSize(PATHOLOGY_ITEMS.length, { message: `must name at most ${PATHOLOGY_ITEMS.length} items` })
  @ArrayMinSize(1, { message: 'must name at least 1 item' })
  @IsArray({ message: 'must be an array of item names' })
  missing!: PathologyItemName[];
}

export class MdtDecisionPayloadDto implements MdtDecisionPayload {
  @Required()
  @IsOneOf(MDT_DECISIONS)
  decision!: MdtDecision;

  /** Free text: stored, never logged, never emailed. */
  @Optional()
  @IsText({ max: TEXT_LIMITS.note, multiline: true })
  note?: string;
}

export class RadiotherapyCompletedPayloadDto implements RadiotherapyCompletedPayload {
  @Required()
  @IsDateTimeWithOffset()
  completedAt!: string;

  @Required()
  @IsOneOf(RADIOTHERAPY_SETTINGS)
  setting!: RadiotherapySetting;
}

export class ImagingReportedPayloadDto implements ImagingReportedPayload {
  @Required()
  @IsOneOf(IMAGING_MODALITIES)
  modality!: ImagingModality;

  @Required()
  @IsOneOf(IMAGING_REGIONS)
  region!: ImagingRegion;

  @Required()
  @IsOneOf(IMAGING_FINDINGS)
  finding!: ImagingFinding;
}

export class ClinicVisitedPayloadDto implements ClinicVisitedPayload {
  @Required()
  @IsDateTimeWithOffset()
  visitedAt!: string;
}

export class RecurrenceDetectedPayloadDto implements RecurrenceDetectedPayload {
  @Required()
  @IsOneOf(RECURRENCE_KINDS)
  kind!: RecurrenceKind;

  @Optional()
  @IsText({ max: TEXT_LIMITS.label })
  site?: string;
}

/** Payload of patient.deceased and patient.transferred. */
export class PatientClosedPayloadDto implements PatientClosedPayload {
  /** Free text: stored, never logged, never emailed. */
  @Optional()
  @IsText({ max: TEXT_LIMITS.note, multiline: true })
  note?: string;
}

export type PayloadDtoClass = new () => object;

/** The class that validates the payload of each event type. */
export const PAYLOAD_DTO_BY_TYPE: Readonly<Record<EventType, PayloadDtoClass>> = {
  'patient.registered': PatientRegisteredPayloadDto,
  'surgery.performed': SurgeryPerformedPayloadDto,
  'pathology.reported': PathologyReportedPayloadDto,
  'pathology.unstructured': PathologyUnstructuredPayloadDto,
  'mdt.decision': MdtDecisionPayloadDto,
  'radiotherapy.completed': RadiotherapyCompletedPayloadDto,
  'imaging.reported': ImagingReportedPayloadDto,
  'clinic.visited': ClinicVisitedPayloadDto,
  'recurrence.detected': RecurrenceDetectedPayloadDto,
  'patient.deceased': PatientClosedPayloadDto,
  'patient.transferred': PatientClosedPayloadDto,
};
