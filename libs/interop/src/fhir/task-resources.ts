/**
 * Our tasks as FHIR R4 resources, read-only, for downstream systems: every task as a `Task`, imaging orders also as
 * a `ServiceRequest` (same id), search results as a `searchset` Bundle, errors as an `OperationOutcome`. Pure: the
 * api reads the rows (libs/store fhir-queries) and these functions shape them.
 *
 * Mappings chosen where FHIR and our model differ (docs: the controller's OpenAPI text repeats them):
 * - priority: routine → routine, high → urgent, urgent → asap. FHIR orders routine < urgent < asap < stat; our
 *   "urgent" (a local recurrence, acted on within 24 h) is the top of our scale but not an emergency, so not stat.
 * - owner: the assigned team member as `Practitioner/<member id>`; a task routed to a team but not yet to a person as
 *   a logical `Organization` reference (identifier: the team code, which need not be a valid FHIR id); unrouted: none.
 * - focus: an imaging order's `ServiceRequest/<task id>`; any other task: the clinical event that opened it, as a
 *   logical reference (identifier: the event id), since events are not served as FHIR resources.
 * - Task.status is our status (already FHIR task-status codes). ServiceRequest.status: requested, accepted and
 *   in-progress → active; on-hold → on-hold; completed → completed; cancelled, rejected → revoked.
 */
import type {
  Bundle,
  BundleEntry,
  BundleLink,
  CodeableConcept,
  Identifier,
  OperationOutcome,
  OperationOutcomeIssue,
  Reference,
  Resource,
  Patient,
  ServiceRequest,
  Task,
} from '@medplum/fhirtypes';
import { LOCAL_SYSTEM, RULE_SYSTEM, SNOMED } from '../codes';

/** The row shape of libs/store's TaskView (interop does not depend on the store). */
export interface FhirTaskSource {
  id: string;
  patientId: string;
  eventId: string;
  type: string;
  ruleId: string;
  priority: string;
  status: string;
  dueAt: string;
  reason: string;
  modality: string | null;
  region: string | null;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  teamCode: string | null;
  assigneeId: string | null;
  acceptedAt: string | null;
}

export const TASK_TYPE_SYSTEM = `${LOCAL_SYSTEM}/task-type`;
export const IMAGING_PROCEDURE_SYSTEM = `${LOCAL_SYSTEM}/imaging-procedure`;
/** Identifier systems are naming systems, not code systems: same base, their own folder. */
const NAMING_SYSTEM = LOCAL_SYSTEM.replace(/\/CodeSystem$/, '/NamingSystem');
export const TASK_ID_SYSTEM = `${NAMING_SYSTEM}/task-id`;
export const CLINICAL_EVENT_ID_SYSTEM = `${NAMING_SYSTEM}/clinical-event-id`;
export const CARE_TEAM_CODE_SYSTEM = `${NAMING_SYSTEM}/care-team-code`;
export const PATIENT_ID_SYSTEM = `${NAMING_SYSTEM}/patient-id`;
/** SNOMED CT 363679005 |Imaging (procedure)|: the ServiceRequest category downstream systems filter imaging by. */
export const IMAGING_CATEGORY = { system: SNOMED, code: '363679005', display: 'Imaging' };

export const TASK_TYPE_DISPLAY: Record<string, string> = {
  're-excision-review': 'Re-excision review',
  'mdt-review': 'Multidisciplinary team (tumour board) review',
  'radiotherapy-evaluation': 'Radiotherapy evaluation',
  'imaging-order': 'Imaging order',
  'visit-reminder': 'Surveillance clinic visit reminder',
  'medical-oncology-referral': 'Medical oncology referral',
  'surveillance-overdue': 'Overdue surveillance follow-up',
  'data-quality-review': 'Data quality review',
};

export const FHIR_PRIORITY: Record<string, Task['priority']> = { routine: 'routine', high: 'urgent', urgent: 'asap' };

/** Our statuses are FHIR task-status codes; the rest of that value set is valid in a search but never stored. */
export const TASK_STATUS_CODES: readonly Task['status'][] = [
  'draft',
  'requested',
  'received',
  'accepted',
  'rejected',
  'ready',
  'cancelled',
  'in-progress',
  'on-hold',
  'failed',
  'completed',
  'entered-in-error',
];

/** ServiceRequest (request-status) code → our task statuses: the inverse of serviceRequestStatus, for searches. */
export const SERVICE_REQUEST_STATUS_TO_TASK: Record<ServiceRequest['status'], string[]> = {
  draft: [],
  active: ['requested', 'accepted', 'in-progress'],
  'on-hold': ['on-hold'],
  revoked: ['cancelled', 'rejected'],
  completed: ['completed'],
  'entered-in-error': [],
  unknown: [],
};

const MODALITY_DISPLAY: Record<string, string> = {
  MRI: 'MRI',
  CT: 'CT',
  XR: 'X-ray',
  US: 'Ultrasound',
  'PET-CT': 'PET-CT',
};
const REGION_DISPLAY: Record<string, string> = {
  'primary-site': 'the primary site',
  chest: 'the chest',
  other: 'another region',
};

/** A FHIR `id`: what a literal reference `Type/<id>` may carry. */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function isImagingOrder(task: Pick<FhirTaskSource, 'type'>): boolean {
  return task.type === 'imaging-order';
}

export function toFhirTask(task: FhirTaskSource): Task {
  const status = taskStatus(task.status);
  const resource: Task = {
    resourceType: 'Task',
    id: task.id,
    meta: { lastUpdated: task.updatedAt },
    identifier: [taskIdentifier(task)],
    status,
    intent: 'order',
    priority: FHIR_PRIORITY[task.priority],
    code: taskTypeConcept(task.type),
    description: task.reason || undefined,
    focus: isImagingOrder(task)
      ? { reference: `ServiceRequest/${task.id}`, type: 'ServiceRequest' }
      : { identifier: { system: CLINICAL_EVENT_ID_SYSTEM, value: task.eventId }, display: 'clinical event' },
    for: patientReference(task.patientId),
    executionPeriod: executionPeriod(task),
    authoredOn: task.createdAt,
    lastModified: task.updatedAt,
    owner: owner(task),
    reasonCode: { coding: [{ system: RULE_SYSTEM, code: task.ruleId }] },
    restriction: { period: { end: task.dueAt } },
  };
  return prune(resource);
}

/** An imaging-order task as the order it is; throws for any other task type (the caller filters). */
export function toFhirServiceRequest(task: FhirTaskSource): ServiceRequest {
  if (!isImagingOrder(task)) throw new Error(`task type '${task.type}' is not an imaging order`);
  const resource: ServiceRequest = {
    resourceType: 'ServiceRequest',
    id: task.id,
    meta: { lastUpdated: task.updatedAt },
    identifier: [taskIdentifier(task)],
    status: serviceRequestStatus(task.status),
    intent: 'order',
    category: [{ coding: [IMAGING_CATEGORY] }],
    priority: FHIR_PRIORITY[task.priority],
    code: imagingProcedureConcept(task.modality, task.region),
    subject: patientReference(task.patientId),
    // The order's due date is a deadline ("by then"), not an appointment time: a period that ends then.
    occurrencePeriod: { end: task.dueAt },
    authoredOn: task.createdAt,
    reasonCode: [{ coding: [{ system: RULE_SYSTEM, code: task.ruleId }], text: task.reason || undefined }],
  };
  return prune(resource);
}

export function serviceRequestStatus(status: string): ServiceRequest['status'] {
  for (const [code, statuses] of Object.entries(SERVICE_REQUEST_STATUS_TO_TASK)) {
    if (statuses.includes(status)) return code as ServiceRequest['status'];
  }
  throw new Error(`task status '${status}' has no ServiceRequest status`);
}

export function imagingProcedureCode(modality: string | null, region: string | null): string | null {
  return modality && region ? `${modality}-${region}` : null;
}

export interface SearchBundleOptions {
  /** The FHIR base (`https://host/fhir`): fullUrl is `<base>/<type>/<id>`. */
  baseUrl: string;
  next?: string;
  previous?: string;
}

export function toSearchBundle<T extends Resource>(
  resources: T[],
  total: number,
  selfUrl: string,
  options: SearchBundleOptions,
): Bundle<T> {
  const link: BundleLink[] = [{ relation: 'self', url: selfUrl }];
  if (options.next) link.push({ relation: 'next', url: options.next });
  if (options.previous) link.push({ relation: 'previous', url: options.previous });
  const entry: BundleEntry<T>[] = resources.map((resource) => ({
    fullUrl: `${options.baseUrl}/${resource.resourceType}/${resource.id}`,
    resource,
    search: { mode: 'match' },
  }));
  return prune({ resourceType: 'Bundle', type: 'searchset', total, link, entry: entry.length ? entry : undefined });
}

export function operationOutcome(
  severity: OperationOutcomeIssue['severity'],
  code: OperationOutcomeIssue['code'],
  diagnostics: string,
): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] };
}

export type DateSearchPrefix = 'eq' | 'gt' | 'ge' | 'lt' | 'le';
/** A comparison on an instant (millisecond precision): what a date search parameter becomes. */
export interface InstantCondition {
  op: DateSearchPrefix;
  at: string;
}

const DATE_PARAM =
  /^([a-z]{2})?(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * A FHIR date search value (`ge2030-01-01`, `lt2030-06-01T10:00:00+02:00`) as conditions on an instant. The value is
 * a range as wide as its precision (a day, a month, a second), and each prefix compares ranges as the R4 search
 * rules say: eq = inside it, gt = after its end, ge = from its start, lt = before its start, le = before its end.
 * A value without a time zone is read as UTC. Returns an error message for what it cannot read, or for the
 * prefixes we do not support (ne, sa, eb, ap).
 */
export function parseDateSearch(value: string): InstantCondition[] | { error: string } {
  const m = DATE_PARAM.exec(value);
  if (!m) return { error: `'${value}' is not a FHIR date search value (e.g. ge2030-01-01 or lt2030-01-01T10:00:00Z)` };
  const [, prefix = 'eq', y, mo, d, h, mi, s, fraction, tz] = m;
  if (!['eq', 'gt', 'ge', 'lt', 'le'].includes(prefix))
    return { error: `date prefix '${prefix}' is not supported; one of eq, gt, ge, lt, le` };
  const year = Number(y);
  const month = mo === undefined ? 1 : Number(mo);
  const day = d === undefined ? 1 : Number(d);
  const hour = h === undefined ? 0 : Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = s === undefined ? 0 : Number(s);
  const ms = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  const local = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const check = new Date(local);
  // Date.UTC rolls 2030-02-30 over to March: a value that does not come back unchanged is not a calendar date.
  if (
    year < 1 ||
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  )
    return { error: `'${value}' is not a valid date` };
  let offsetMs = 0;
  if (tz && tz !== 'Z') {
    const [th, tm] = tz.slice(1).split(':').map(Number);
    if (th > 14 || tm > 59 || (th === 14 && tm > 0)) return { error: `'${value}' has an invalid time zone offset` };
    offsetMs = (tz.startsWith('-') ? -1 : 1) * (th * 60 + tm) * 60_000;
  }
  const start = local - offsetMs;
  let end: number;
  if (mo === undefined) end = Date.UTC(year + 1, 0, 1);
  else if (d === undefined) end = Date.UTC(year, month, 1);
  else if (h === undefined) end = Date.UTC(year, month - 1, day + 1);
  else if (s === undefined) end = start + 60_000;
  else if (fraction === undefined) end = start + 1000;
  else end = start + Math.max(1, 10 ** (3 - Math.min(fraction.length, 3)));
  const at = (t: number) => new Date(t).toISOString();
  switch (prefix) {
    case 'gt':
      return [{ op: 'ge', at: at(end) }];
    case 'ge':
      return [{ op: 'ge', at: at(start) }];
    case 'lt':
      return [{ op: 'lt', at: at(start) }];
    case 'le':
      return [{ op: 'lt', at: at(end) }];
    default:
      return [
        { op: 'ge', at: at(start) },
        { op: 'lt', at: at(end) },
      ];
  }
}

function taskStatus(status: string): Task['status'] {
  if ((TASK_STATUS_CODES as readonly string[]).includes(status)) return status as Task['status'];
  // Never guessed: a status we cannot name in FHIR is a data error, not something to paper over.
  throw new Error(`task status '${status}' is not a FHIR task-status code`);
}

function taskIdentifier(task: FhirTaskSource): Identifier {
  return { use: 'official', system: TASK_ID_SYSTEM, value: task.id };
}

function taskTypeConcept(type: string): CodeableConcept {
  const display = TASK_TYPE_DISPLAY[type];
  return { coding: [{ system: TASK_TYPE_SYSTEM, code: type, display }], text: display ?? type };
}

function imagingProcedureConcept(modality: string | null, region: string | null): CodeableConcept {
  const code = imagingProcedureCode(modality, region);
  const what = modality ? (MODALITY_DISPLAY[modality] ?? modality) : 'Imaging';
  const text = region ? `${what} of ${REGION_DISPLAY[region] ?? region}` : what;
  return code ? { coding: [{ system: IMAGING_PROCEDURE_SYSTEM, code, display: text }], text } : { text };
}

/** A literal reference when the patient id is a valid FHIR id, otherwise a logical one (never an invalid literal). */
function patientReference(patientId: string): Reference<Patient> {
  return FHIR_ID.test(patientId)
    ? { reference: `Patient/${patientId}`, type: 'Patient' }
    : { type: 'Patient', identifier: { system: PATIENT_ID_SYSTEM, value: patientId } };
}

function owner(task: FhirTaskSource): Task['owner'] {
  if (task.assigneeId) return { reference: `Practitioner/${task.assigneeId}`, type: 'Practitioner' };
  if (task.teamCode)
    return {
      type: 'Organization',
      identifier: { system: CARE_TEAM_CODE_SYSTEM, value: task.teamCode },
      display: `care team ${task.teamCode}`,
    };
  return undefined;
}

/** First action taken on it (accepted) to when it closed; absent for a task nobody has touched. */
function executionPeriod(task: FhirTaskSource): Task['executionPeriod'] {
  const start = task.acceptedAt ?? undefined;
  const end = task.closedAt ?? undefined;
  return start || end ? { start, end } : undefined;
}

/** Drops undefined members, so a resource never carries `"x": undefined` (nor an empty object) into JSON. */
function prune<T>(value: T): T {
  if (Array.isArray(value)) return value.map(prune) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      const p = prune(v);
      if (p && typeof p === 'object' && !Array.isArray(p) && Object.keys(p).length === 0) continue;
      out[k] = p;
    }
    return out as T;
  }
  return value;
}
