/**
 * FHIR R4 pathology results in: a Bundle holding a DiagnosticReport, its Observations (margin, FNCLCC grade, tumour
 * size, depth, histologic type, closest margin) and the Patient, as the HL7 cancer pathology IG and mCODE shape
 * them, becomes the same clinical events as an HL7 v2 message (libs/interop/src/pathology.ts). Pure.
 */
import { createHash } from 'node:crypto';
import type {
  Bundle,
  CodeableConcept,
  DiagnosticReport,
  Observation,
  OperationOutcomeIssue,
  Patient,
  Resource,
} from '@medplum/fhirtypes';
import type { ClinicalEvent, ReportStatus } from '@app/contracts';
import {
  DEPTH_CODES,
  DEPTH_SYSTEM,
  FNCLCC_CODES,
  FNCLCC_SYSTEM,
  LENGTH_IN_MM,
  lookup,
  MARGIN_CODES,
  MARGIN_SYSTEM,
  OBSERVATION_CODES,
  SNOMED,
  SNOMED_GRADE_CODES,
  type PathologyItem,
} from '../codes';
import { pathologyEvent, safeIdPart, sizeInCm, type PathologyOutcome, type ReportedItems } from '../pathology';

export interface FhirIntakeResult {
  outcomes: PathologyOutcome[];
  /** Problems that stopped a report (or the whole bundle) from becoming an event: an OperationOutcome's issues. */
  issues: OperationOutcomeIssue[];
}

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const ACTED_ON: Record<string, ReportStatus> = { final: 'final', amended: 'corrected', corrected: 'corrected' };
const USABLE_OBSERVATION = new Set(['final', 'amended', 'corrected']);

/**
 * The bundle is untrusted JSON, whatever its types say: every node is checked for its JSON type before it is used
 * (an object where an array belongs, a number for a code, is simply not what we look for), and no string is matched
 * with a pattern whose cost grows faster than its length.
 */
export function pathologyFromBundle(input: unknown, source = 'fhir'): FhirIntakeResult {
  if (!isResource(input) || input.resourceType !== 'Bundle')
    return fail('structure', 'Bundle', 'expected a FHIR R4 Bundle (resourceType "Bundle")');
  const resources = list((input as Bundle).entry).flatMap((e, i) => {
    const entry = record(e);
    return entry && isResource(entry.resource)
      ? [{ resource: entry.resource, fullUrl: text(entry.fullUrl), index: i }]
      : [];
  });
  const reports = resources.filter((r) => r.resource.resourceType === 'DiagnosticReport');
  if (reports.length === 0) return fail('required', 'Bundle.entry', 'the Bundle holds no DiagnosticReport');

  const outcomes: PathologyOutcome[] = [];
  const issues: OperationOutcomeIssue[] = [];
  for (const { resource, index } of reports) {
    const report = resource as DiagnosticReport;
    const at = `Bundle.entry[${index}].resource`;
    const reportId = (
      list(report.identifier)
        .map((i) => text(record(i)?.value))
        .find((v) => v?.trim()) ??
      text(report.id) ??
      ''
    ).trim();
    if (!reportId) {
      issues.push(issue('required', `${at}.identifier`, 'the DiagnosticReport has no identifier (the report number)'));
      continue;
    }
    const reportStatus = text(report.status);
    const status = reportStatus === undefined ? undefined : lookup(ACTED_ON, reportStatus);
    if (!status) {
      issues.push(
        issue(
          'business-rule',
          `${at}.status`,
          `report ${reportId}: status '${(reportStatus ?? '').slice(0, 40)}' is not acted on (only final, amended, corrected)`,
        ),
      );
      continue;
    }
    const patientId = medicalRecordNumber(record(report.subject), resources);
    if (!patientId) {
      issues.push(
        issue(
          'required',
          `${at}.subject`,
          `report ${reportId}: the subject has no identifier of type MR (medical record number)`,
        ),
      );
      continue;
    }
    const occurredAt = text(report.issued) ?? text(report.effectiveDateTime);
    if (!occurredAt || !isDateTimeWithZone(occurredAt)) {
      issues.push(
        issue(
          'required',
          `${at}.issued`,
          `report ${reportId}: issued (or effectiveDateTime) with a time zone is required`,
        ),
      );
      continue;
    }
    const observations = list(report.result).flatMap((ref) => {
      const found = resolve(record(ref), resources);
      return found?.resourceType === 'Observation' ? [found as Observation] : [];
    });
    outcomes.push(
      pathologyEvent(
        {
          eventId: `fhir.${reportRef(reportId)}.${status}.${safeIdPart(text(record(report.meta)?.versionId) ?? occurredAt)}`,
          patientId,
          occurredAt,
          source,
          reportId: reportId.slice(0, 200),
          status,
        },
        itemsOf(observations),
      ),
    );
  }
  return { outcomes, issues };
}

/** Events to publish, whatever each report's outcome (results and reports to abstract alike). */
export function eventsOf(result: FhirIntakeResult): ClinicalEvent[] {
  return result.outcomes.map((o) => o.event);
}

/**
 * The report number as event ids carry it: a hash (SHA-256, 16 hex digits), the same for every version of a report.
 * Event ids are logged and name jobs in Redis; a report (accession) number is a patient's identifier for anyone with
 * access to the lab system, so it stays in PostgreSQL (found by the privacy test: the cohort's numbers embed the MRN).
 */
function reportRef(reportId: string): string {
  return createHash('sha256').update(reportId).digest('hex').slice(0, 16);
}

/** An ISO date-time with a time zone, checked on at most 64 characters (a longer one is not a date-time). */
function isDateTimeWithZone(value: string): boolean {
  return value.length <= 64 && /^[^T]*T.*(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value));
}

function itemsOf(observations: Observation[]): ReportedItems {
  const items: ReportedItems = {};
  for (const obs of observations) {
    if (!USABLE_OBSERVATION.has(text(obs.status) ?? '')) continue;
    const item = itemOf(obs.code);
    if (!item) continue;
    const value = record(obs.valueCodeableConcept) as CodeableConcept | undefined;
    switch (item) {
      case 'margin':
        items.margin = coded(value, MARGIN_SYSTEM, MARGIN_CODES) ?? items.margin;
        break;
      case 'grade':
        items.grade =
          coded(value, FNCLCC_SYSTEM, FNCLCC_CODES) ?? coded(value, SNOMED, SNOMED_GRADE_CODES) ?? items.grade;
        break;
      case 'depth':
        items.depth = coded(value, DEPTH_SYSTEM, DEPTH_CODES) ?? items.depth;
        break;
      case 'histology': {
        const label = text(value?.text) ?? text(record(list(value?.coding)[0])?.display) ?? text(obs.valueString);
        if (label?.trim()) items.histology = label.trim().slice(0, 200);
        break;
      }
      case 'sizeCm': {
        // mCODE TumorSize: the longest dimension may be a component (33728-7) of a 21889-1 observation
        const component = list(obs.component)
          .map(record)
          .find((c) => c && itemOf(c.code) === 'sizeCm' && record(c.valueQuantity));
        const mm = millimetres(record(obs.valueQuantity) ?? record(component?.valueQuantity), 'cm');
        items.sizeCm = sizeInCm(mm) ?? items.sizeCm;
        break;
      }
      case 'closestMarginMm': {
        const mm = millimetres(record(obs.valueQuantity), 'mm');
        if (mm !== null && Number.isFinite(mm)) items.closestMarginMm = mm;
        break;
      }
      default:
        break;
    }
  }
  return items;
}

function itemOf(code: unknown): PathologyItem | undefined {
  for (const coding of list(record(code)?.coding).map(record))
    for (const known of OBSERVATION_CODES)
      if (coding?.system === known.system && coding.code === known.code) return known.item;
  return undefined;
}

function coded<T>(value: CodeableConcept | undefined, system: string, table: Record<string, T>): T | undefined {
  for (const coding of list(value?.coding).map(record))
    if (coding?.system === system && lookup(table, coding.code) !== undefined) return lookup(table, coding.code);
  return undefined;
}

function millimetres(quantity: Record<string, unknown> | undefined, defaultUnit: 'cm' | 'mm'): number | null {
  const value = quantity?.value;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return null;
  const factor = lookup(LENGTH_IN_MM, (text(quantity!.code) ?? text(quantity!.unit) ?? defaultUnit).toLowerCase());
  return factor === undefined ? null : value * factor;
}

function medicalRecordNumber(
  subject: Record<string, unknown> | undefined,
  resources: { resource: Resource; fullUrl?: string }[],
): string | null {
  const mr = (candidate: unknown): string | undefined => {
    const identifier = record(candidate);
    const value = text(identifier?.value);
    const isMr = list(record(identifier?.type)?.coding)
      .map(record)
      .some((c) => c?.system === V2_0203 && c.code === 'MR');
    return value && isMr ? value : undefined;
  };
  const direct = mr(subject?.identifier);
  if (direct) return direct.slice(0, 200);
  const patient = resolve(subject, resources);
  const id =
    patient?.resourceType === 'Patient'
      ? list((patient as Patient).identifier)
          .map(mr)
          .find(Boolean)
      : undefined;
  return id ? id.slice(0, 200) : null;
}

/** A reference inside the Bundle: by fullUrl (urn:uuid:…) or by Type/id. */
function resolve(
  ref: Record<string, unknown> | undefined,
  resources: { resource: Resource; fullUrl?: string }[],
): Resource | undefined {
  const target = text(ref?.reference);
  if (!target) return undefined;
  return resources.find(
    (r) =>
      r.fullUrl === target ||
      `${r.resource.resourceType}/${text(r.resource.id) ?? ''}` === target ||
      r.fullUrl?.endsWith(`/${target}`),
  )?.resource;
}

function isResource(value: unknown): value is Resource {
  return typeof record(value)?.resourceType === 'string';
}

/** The value if it is a JSON object (not an array), else undefined. */
function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The value if it is an array, else no items. */
function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The value if it is a string, else undefined. */
function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function issue(code: OperationOutcomeIssue['code'], expression: string, diagnostics: string): OperationOutcomeIssue {
  return { severity: 'error', code, diagnostics, expression: [expression] };
}

function fail(code: OperationOutcomeIssue['code'], expression: string, diagnostics: string): FhirIntakeResult {
  return { outcomes: [], issues: [issue(code, expression, diagnostics)] };
}
