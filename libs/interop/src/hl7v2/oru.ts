/**
 * ORU^R01 pathology results (NAACCR Volume V, CAP electronic cancer checklist answers) to clinical events. Pure:
 * the intake stores the raw message, calls this, publishes the events and sends the ACK it names.
 *
 * Field by field (docs/interop.md has the full table): PID-3 (identifier type MR) → patientId; MSH-10 with the
 * sending facility (MSH-4) → eventId, so a resent message is a duplicate; OBR-3 → reportId; OBR-25 F/C → status;
 * OBR-22 (or OBR-7, or MSH-7) → occurredAt; OBX with CAP soft-tissue checklist codes → margin, FNCLCC grade, size,
 * depth, histology, closest margin. Only coded answers count.
 */
import type { Hl7Message, Hl7Segment } from '@medplum/core';
import type { ClinicalEvent, PathologyItemName } from '@app/contracts';
import {
  CAP_DEPTH_ANSWERS,
  CAP_GRADE_ANSWERS,
  CAP_MARGIN_ANSWERS,
  CAP_SOFT_TISSUE_QUESTIONS,
  CAP_SOFT_TISSUE_TEMPLATE,
  LENGTH_IN_MM,
  lookup,
  REPORT_TEMPLATE_LOINC,
} from '../codes';
import { cleanLabel, pathologyEvent, safeIdPart, sizeInCm, type ReportedItems } from '../pathology';
import { ERROR_CODES } from './ack';
import { field } from './parse';

export interface Hl7MappingOptions {
  /** UTC offset for HL7 timestamps that carry none, e.g. "+01:00" (the lab's local time). */
  defaultUtcOffset: string;
  /** PID-3 identifier types taken as the hospital's patient id, in order of preference. Never SS (social security). */
  patientIdTypes: readonly string[];
}

export const DEFAULT_HL7_OPTIONS: Hl7MappingOptions = { defaultUtcOffset: '+00:00', patientIdTypes: ['MR', 'PI'] };

export type Hl7Decision =
  | { ack: 'AA'; events: ClinicalEvent[]; text: string }
  | { ack: 'AE'; events: ClinicalEvent[]; text: string; errorCode: string; errorLocation?: string }
  | { ack: 'AR'; events: []; text: string; errorCode: string; errorLocation?: string };

interface ReportGroup {
  obr: Hl7Segment;
  obrIndex: number;
  observations: Hl7Segment[];
}

export function decideOru(message: Hl7Message, options: Hl7MappingOptions = DEFAULT_HL7_OPTIONS): Hl7Decision {
  const type = `${field(message, 'MSH', 9, 1)}^${field(message, 'MSH', 9, 2)}`;
  if (type !== 'ORU^R01')
    return reject(
      ERROR_CODES.unsupportedMessageType,
      `message type ${type} is not taken: send ORU^R01 pathology results`,
      'MSH^1^9',
    );
  const controlId = field(message, 'MSH', 10);
  if (!controlId) return reject(ERROR_CODES.requiredFieldMissing, 'MSH-10 (message control id) is empty', 'MSH^1^10');
  const facility = senderOf(message) ?? 'unknown';

  const patientId = patientIdOf(message, options);
  const groups = reportGroups(message);
  if (groups.length === 0)
    return usable(
      [],
      [
        {
          text: 'no OBR segment: the message holds no report',
          code: ERROR_CODES.requiredFieldMissing,
          location: 'OBR',
        },
      ],
    );

  const events: ClinicalEvent[] = [];
  // Without a usable patient id nothing becomes an event, but every report is still read, so the answer says all
  // that is wrong at once.
  const problems: Problem[] = patientId
    ? []
    : [
        {
          text: `PID-3 has no patient identifier of type ${options.patientIdTypes.join(' or ')} (other identifiers, such as SS, are never used)`,
          code: ERROR_CODES.requiredFieldMissing,
          location: 'PID^1^3',
        },
      ];
  groups.forEach((group, i) => {
    const outcome = mapGroup(message, group, {
      eventId: `hl7.${safeIdPart(facility)}.${safeIdPart(controlId)}${groups.length > 1 ? `.${i + 1}` : ''}`,
      patientId: patientId ?? '',
      // the facility as sent may hold anything (half a surrogate pair, control characters): made a valid label
      source: cleanLabel(`hl7v2 ${facility}`.slice(0, 100)),
      options,
    });
    if (outcome.event && patientId) events.push(outcome.event);
    if (outcome.problem && (patientId || !outcome.event)) problems.push(outcome.problem);
  });
  return usable(events, problems);
}

interface Problem {
  text: string;
  code: string;
  location?: string;
}

/** Who sent it: MSH-4's universal id (a CLIA number, say), else its namespace id, else the sending application. */
export function senderOf(message: Hl7Message): string | null {
  return field(message, 'MSH', 4, 2) || field(message, 'MSH', 4, 1) || field(message, 'MSH', 3, 1) || null;
}

function reject(code: string, text: string, location?: string): Hl7Decision {
  return { ack: 'AR', events: [], text, errorCode: code, ...(location ? { errorLocation: location } : {}) };
}

/** AA when every report became a result; AE (with the events that could be made) as soon as anything was not used. */
function usable(events: ClinicalEvent[], problems: Problem[]): Hl7Decision {
  if (problems.length === 0) {
    const n = events.length;
    return { ack: 'AA', events, text: `${n} pathology result${n === 1 ? '' : 's'} accepted` };
  }
  return {
    ack: 'AE',
    events,
    text: problems.map((p) => p.text).join('; '),
    errorCode: problems[0].code,
    ...(problems[0].location ? { errorLocation: problems[0].location } : {}),
  };
}

function patientIdOf(message: Hl7Message, options: Hl7MappingOptions): string | null {
  const pid3 = message.getSegment('PID')?.getField(3);
  if (!pid3) return null;
  for (const wanted of options.patientIdTypes) {
    for (let r = 0; r < pid3.components.length; r += 1) {
      const id = pid3.getComponent(1, undefined, r).trim();
      if (id && pid3.getComponent(5, undefined, r).trim().toUpperCase() === wanted) return id.slice(0, 200);
    }
  }
  return null;
}

/** Each OBR and the OBX segments after it (up to the next OBR). */
function reportGroups(message: Hl7Message): ReportGroup[] {
  const groups: ReportGroup[] = [];
  let obrIndex = 0;
  for (const segment of message.segments) {
    if (segment.name === 'OBR') groups.push({ obr: segment, obrIndex: (obrIndex += 1), observations: [] });
    else if (segment.name === 'OBX' && groups.length > 0) groups[groups.length - 1].observations.push(segment);
  }
  return groups;
}

function get(segment: Hl7Segment, index: number, component = 1): string {
  return (segment.getField(index)?.getComponent(component) ?? '').trim();
}

function mapGroup(
  message: Hl7Message,
  group: ReportGroup,
  ids: { eventId: string; patientId: string; source: string; options: Hl7MappingOptions },
): { event?: ClinicalEvent; problem?: Problem } {
  const at = `OBR^${group.obrIndex}`;
  const reportId = get(group.obr, 3) || get(group.obr, 2);
  if (!reportId)
    return {
      problem: {
        text: `${at}: OBR-3 (filler order number) is empty`,
        code: ERROR_CODES.requiredFieldMissing,
        location: `${at}^3`,
      },
    };
  const resultStatus = get(group.obr, 25).toUpperCase();
  const status = resultStatus === 'F' ? 'final' : resultStatus === 'C' ? 'corrected' : null;
  if (!status)
    return {
      problem: {
        text: `report ${reportId}: OBR-25 result status '${resultStatus}' is not acted on (only F final and C corrected)`,
        code: ERROR_CODES.tableValueNotFound,
        location: `${at}^25`,
      },
    };
  const template = group.observations.find((obx) => get(obx, 3) === REPORT_TEMPLATE_LOINC);
  if (template && get(template, 5) !== CAP_SOFT_TISSUE_TEMPLATE)
    return {
      problem: {
        text: `report ${reportId}: a synoptic report for another protocol (${get(template, 5, 2) || get(template, 5)}), not soft-tissue sarcoma`,
        code: ERROR_CODES.tableValueNotFound,
        location: `${at}^OBX`,
      },
    };
  const occurredAt =
    hl7Time(get(group.obr, 22), ids.options) ??
    hl7Time(get(group.obr, 7), ids.options) ??
    hl7Time(field(message, 'MSH', 7), ids.options);
  if (!occurredAt)
    return {
      problem: {
        text: `report ${reportId}: no valid date in OBR-22, OBR-7 or MSH-7`,
        code: ERROR_CODES.requiredFieldMissing,
        location: `${at}^22`,
      },
    };

  const outcome = pathologyEvent(
    {
      eventId: ids.eventId,
      patientId: ids.patientId,
      occurredAt,
      source: ids.source,
      reportId: reportId.slice(0, 200),
      status,
    },
    checklistItems(group.observations),
  );
  if (outcome.kind === 'result') return { event: outcome.event };
  return {
    event: outcome.event,
    problem: {
      text: `report ${reportId} needs manual abstraction: ${describe(outcome.missing)} not coded; kept, and a data-quality review is opened (R-PATH-ABSTRACTION)`,
      code: ERROR_CODES.requiredFieldMissing,
      location: `${at}^OBX`,
    },
  };
}

function describe(missing: PathologyItemName[]): string {
  const words: Record<PathologyItemName, string> = {
    margin: 'margin',
    grade: 'FNCLCC grade',
    sizeCm: 'tumour size',
    depth: 'depth',
    histology: 'histologic type',
    closestMarginMm: 'closest margin distance',
  };
  return missing.map((m) => words[m]).join(', ');
}

/** The coded CAP soft-tissue checklist answers of one report. An answer that is not a known code is left out. */
function checklistItems(observations: Hl7Segment[]): ReportedItems {
  const items: ReportedItems = {};
  for (const obx of observations) {
    const item = lookup(CAP_SOFT_TISSUE_QUESTIONS, get(obx, 3));
    const valueType = get(obx, 2).toUpperCase();
    const code = get(obx, 5);
    switch (item) {
      case 'margin':
        if (valueType === 'CWE' || valueType === 'CE') items.margin = lookup(CAP_MARGIN_ANSWERS, code) ?? items.margin;
        break;
      case 'grade':
        if (valueType === 'CWE' || valueType === 'CE') items.grade = lookup(CAP_GRADE_ANSWERS, code) ?? items.grade;
        break;
      case 'depth':
        if (valueType === 'CWE' || valueType === 'CE') items.depth = lookup(CAP_DEPTH_ANSWERS, code) ?? items.depth;
        break;
      case 'histology': {
        // a label, not a decision: the coded answer's text (or the reported text) is what the record shows
        const text = valueType === 'CWE' || valueType === 'CE' ? get(obx, 5, 2) || code : code;
        if (text) items.histology = text.slice(0, 200);
        break;
      }
      case 'sizeCm': {
        const mm = length(obx, 'cm');
        items.sizeCm = sizeInCm(mm) ?? items.sizeCm;
        break;
      }
      case 'closestMarginMm': {
        const mm = length(obx, 'mm');
        if (mm !== null && Number.isFinite(mm)) items.closestMarginMm = mm;
        break;
      }
      default:
        break;
    }
  }
  return items;
}

/** A numeric OBX (NM) in millimetres, from OBX-6 units (default `unit`); null when not a number or an unknown unit. */
function length(obx: Hl7Segment, unit: 'cm' | 'mm'): number | null {
  if (get(obx, 2).toUpperCase() !== 'NM') return null;
  const value = Number(get(obx, 5).replace(',', '.'));
  const factor = lookup(LENGTH_IN_MM, (get(obx, 6) || unit).toLowerCase());
  if (!Number.isFinite(value) || value < 0 || factor === undefined) return null;
  return value * factor;
}

/** HL7 DTM (YYYYMMDD[HHMM[SS[.S]]][+/-ZZZZ]) as ISO 8601 with offset; null when it is not one. */
export function hl7Time(value: string, options: Pick<Hl7MappingOptions, 'defaultUtcOffset'>): string | null {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})?(\d{2})?(?:\.\d+)?)?\s*([+-]\d{4})?$/.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00', zone] = m;
  const offset = zone ? `${zone.slice(0, 3)}:${zone.slice(3)}` : options.defaultUtcOffset;
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}${offset}`;
  return Number.isNaN(Date.parse(iso)) || Number(mo) > 12 || Number(d) > 31 ? null : iso;
}
