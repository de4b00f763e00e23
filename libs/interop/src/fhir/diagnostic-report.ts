/**
 * FHIR R4 pathology results in: a Bundle holding a DiagnosticReport, its Observations (margin, FNCLCC grade, tumour
 * size, depth, histologic type, closest margin) and the Patient, as the HL7 cancer pathology IG and mCODE shape
 * them, becomes the same clinical events as an HL7 v2 message (libs/interop/src/pathology.ts). Pure.
 */
import type {
  Bundle,
  CodeableConcept,
  DiagnosticReport,
  Identifier,
  Observation,
  OperationOutcomeIssue,
  Patient,
  Quantity,
  Reference,
  Resource,
} from '@medplum/fhirtypes';
import type { ClinicalEvent, ReportStatus } from '@app/contracts';
import {
  DEPTH_CODES,
  DEPTH_SYSTEM,
  FNCLCC_CODES,
  FNCLCC_SYSTEM,
  LENGTH_IN_MM,
  MARGIN_CODES,
  MARGIN_SYSTEM,
  OBSERVATION_CODES,
  SNOMED,
  SNOMED_GRADE_CODES,
  type PathologyItem,
} from '../codes';
import { pathologyEvent, safeIdPart, type PathologyOutcome, type ReportedItems } from '../pathology';

export interface FhirIntakeResult {
  outcomes: PathologyOutcome[];
  /** Problems that stopped a report (or the whole bundle) from becoming an event: an OperationOutcome's issues. */
  issues: OperationOutcomeIssue[];
}

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const ACTED_ON: Record<string, ReportStatus> = { final: 'final', amended: 'corrected', corrected: 'corrected' };
const USABLE_OBSERVATION = new Set(['final', 'amended', 'corrected']);

export function pathologyFromBundle(input: unknown, source = 'fhir'): FhirIntakeResult {
  if (!isResource(input) || input.resourceType !== 'Bundle')
    return fail('structure', 'Bundle', 'expected a FHIR R4 Bundle (resourceType "Bundle")');
  const bundle = input as Bundle;
  const resources = (bundle.entry ?? []).flatMap((e, i) =>
    isResource(e.resource) ? [{ resource: e.resource, fullUrl: e.fullUrl, index: i }] : [],
  );
  const reports = resources.filter((r) => r.resource.resourceType === 'DiagnosticReport');
  if (reports.length === 0) return fail('required', 'Bundle.entry', 'the Bundle holds no DiagnosticReport');

  const outcomes: PathologyOutcome[] = [];
  const issues: OperationOutcomeIssue[] = [];
  for (const { resource, index } of reports) {
    const report = resource as DiagnosticReport;
    const at = `Bundle.entry[${index}].resource`;
    const reportId = (report.identifier?.find((i) => i.value)?.value ?? report.id ?? '').trim();
    if (!reportId) {
      issues.push(issue('required', `${at}.identifier`, 'the DiagnosticReport has no identifier (the report number)'));
      continue;
    }
    const status = ACTED_ON[report.status ?? ''];
    if (!status) {
      issues.push(
        issue(
          'business-rule',
          `${at}.status`,
          `report ${reportId}: status '${report.status}' is not acted on (only final, amended, corrected)`,
        ),
      );
      continue;
    }
    const patientId = medicalRecordNumber(report.subject, resources);
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
    const occurredAt = report.issued ?? report.effectiveDateTime;
    if (!occurredAt || !/T.*(Z|[+-]\d{2}:\d{2})$/.test(occurredAt) || Number.isNaN(Date.parse(occurredAt))) {
      issues.push(
        issue(
          'required',
          `${at}.issued`,
          `report ${reportId}: issued (or effectiveDateTime) with a time zone is required`,
        ),
      );
      continue;
    }
    const observations = (report.result ?? []).flatMap((ref) => {
      const found = resolve(ref, resources);
      return found?.resourceType === 'Observation' ? [found as Observation] : [];
    });
    outcomes.push(
      pathologyEvent(
        {
          eventId: `fhir.${safeIdPart(reportId)}.${status}.${safeIdPart(report.meta?.versionId ?? occurredAt)}`,
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

function itemsOf(observations: Observation[]): ReportedItems {
  const items: ReportedItems = {};
  for (const obs of observations) {
    if (!USABLE_OBSERVATION.has(obs.status ?? '')) continue;
    const item = itemOf(obs.code);
    if (!item) continue;
    switch (item) {
      case 'margin':
        items.margin = coded(obs.valueCodeableConcept, MARGIN_SYSTEM, MARGIN_CODES) ?? items.margin;
        break;
      case 'grade':
        items.grade =
          coded(obs.valueCodeableConcept, FNCLCC_SYSTEM, FNCLCC_CODES) ??
          coded(obs.valueCodeableConcept, SNOMED, SNOMED_GRADE_CODES) ??
          items.grade;
        break;
      case 'depth':
        items.depth = coded(obs.valueCodeableConcept, DEPTH_SYSTEM, DEPTH_CODES) ?? items.depth;
        break;
      case 'histology': {
        const text =
          obs.valueCodeableConcept?.text ?? obs.valueCodeableConcept?.coding?.[0]?.display ?? obs.valueString;
        if (text?.trim()) items.histology = text.trim().slice(0, 200);
        break;
      }
      case 'sizeCm': {
        // mCODE TumorSize: the longest dimension may be a component (33728-7) of a 21889-1 observation
        const component = obs.component?.find((c) => itemOf(c.code) === 'sizeCm' && c.valueQuantity);
        const mm = millimetres(obs.valueQuantity ?? component?.valueQuantity, 'cm');
        if (mm !== null && mm > 0) items.sizeCm = Math.round(mm * 100) / 1000;
        break;
      }
      case 'closestMarginMm': {
        const mm = millimetres(obs.valueQuantity, 'mm');
        if (mm !== null) items.closestMarginMm = mm;
        break;
      }
      default:
        break;
    }
  }
  return items;
}

function itemOf(code: CodeableConcept | undefined): PathologyItem | undefined {
  for (const coding of code?.coding ?? [])
    for (const known of OBSERVATION_CODES)
      if (coding.system === known.system && coding.code === known.code) return known.item;
  return undefined;
}

function coded<T>(value: CodeableConcept | undefined, system: string, table: Record<string, T>): T | undefined {
  const coding = value?.coding?.find((c) => c.system === system && c.code !== undefined && c.code in table);
  return coding ? table[coding.code!] : undefined;
}

function millimetres(quantity: Quantity | undefined, defaultUnit: 'cm' | 'mm'): number | null {
  if (!quantity || typeof quantity.value !== 'number' || !Number.isFinite(quantity.value) || quantity.value < 0)
    return null;
  const factor = LENGTH_IN_MM[(quantity.code ?? quantity.unit ?? defaultUnit).toLowerCase()];
  return factor === undefined ? null : quantity.value * factor;
}

function medicalRecordNumber(
  subject: Reference | undefined,
  resources: { resource: Resource; fullUrl?: string }[],
): string | null {
  const isMr = (i: Identifier) => !!i.value && !!i.type?.coding?.some((c) => c.system === V2_0203 && c.code === 'MR');
  if (subject?.identifier && isMr(subject.identifier)) return subject.identifier.value!.slice(0, 200);
  const patient = subject ? (resolve(subject, resources) as Patient | undefined) : undefined;
  const id = patient?.resourceType === 'Patient' ? patient.identifier?.find(isMr)?.value : undefined;
  return id ? id.slice(0, 200) : null;
}

/** A reference inside the Bundle: by fullUrl (urn:uuid:…) or by Type/id. */
function resolve(ref: Reference, resources: { resource: Resource; fullUrl?: string }[]): Resource | undefined {
  const target = ref.reference;
  if (!target) return undefined;
  return resources.find(
    (r) =>
      r.fullUrl === target ||
      `${r.resource.resourceType}/${r.resource.id}` === target ||
      r.fullUrl?.endsWith(`/${target}`),
  )?.resource;
}

function isResource(value: unknown): value is Resource {
  return !!value && typeof value === 'object' && typeof (value as { resourceType?: unknown }).resourceType === 'string';
}

function issue(code: OperationOutcomeIssue['code'], expression: string, diagnostics: string): OperationOutcomeIssue {
  return { severity: 'error', code, diagnostics, expression: [expression] };
}

function fail(code: OperationOutcomeIssue['code'], expression: string, diagnostics: string): FhirIntakeResult {
  return { outcomes: [], issues: [issue(code, expression, diagnostics)] };
}
