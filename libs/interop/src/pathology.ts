/**
 * The one place a pathology report from any format (HL7 v2, FHIR) becomes a clinical event: a `pathology.reported`
 * when every item the pathway reads was found coded, otherwise a `pathology.unstructured` naming what was not, so a
 * person abstracts it (R-PATH-ABSTRACTION). Nothing is guessed.
 */
import {
  SCHEMA_VERSION,
  type ClinicalEvent,
  type FnclccGrade,
  type Margin,
  type PathologyItemName,
  type ReportStatus,
  type TumourDepth,
} from '@app/contracts';

export interface ReportedItems {
  margin?: Margin;
  grade?: FnclccGrade;
  sizeCm?: number;
  depth?: TumourDepth;
  histology?: string;
  closestMarginMm?: number;
}

export interface ReportHeader {
  eventId: string;
  patientId: string;
  /** ISO 8601 with offset. */
  occurredAt: string;
  source: string;
  reportId: string;
  status: ReportStatus;
}

/** What the pathway cannot act without. The closest margin distance is welcome but optional. */
export const REQUIRED_ITEMS: readonly PathologyItemName[] = ['margin', 'grade', 'sizeCm', 'depth', 'histology'];

export type PathologyOutcome =
  | { kind: 'result'; event: ClinicalEvent }
  | { kind: 'needs-abstraction'; event: ClinicalEvent; missing: PathologyItemName[] };

/**
 * A label (the histologic type) as the contract takes it: control characters and runs of white space become one
 * space (a report's text may wrap), half a surrogate pair becomes U+FFFD, at most 200 characters.
 */
export function cleanLabel(value: string): string {
  return value
    .replace(/[\u0000-\u001f\u007f\s]+/g, ' ')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .trim()
    .slice(0, 200)
    .replace(/[\ud800-\udbff]$/, '');
}

export function pathologyEvent(header: ReportHeader, reported: ReportedItems): PathologyOutcome {
  const label = reported.histology === undefined ? '' : cleanLabel(reported.histology);
  const items: ReportedItems = { ...reported, histology: label || undefined };
  const envelope = {
    eventId: header.eventId,
    patientId: header.patientId,
    occurredAt: header.occurredAt,
    source: header.source,
    schemaVersion: SCHEMA_VERSION,
  };
  const missing = REQUIRED_ITEMS.filter((item) => items[item] === undefined);
  if (missing.length > 0) {
    return {
      kind: 'needs-abstraction',
      missing,
      event: {
        ...envelope,
        type: 'pathology.unstructured',
        payload: { reportId: header.reportId, status: header.status, missing },
      },
    };
  }
  return {
    kind: 'result',
    event: {
      ...envelope,
      type: 'pathology.reported',
      payload: {
        reportId: header.reportId,
        status: header.status,
        margin: items.margin!,
        grade: items.grade!,
        sizeCm: items.sizeCm!,
        depth: items.depth!,
        histology: items.histology!,
        ...(items.closestMarginMm !== undefined ? { closestMarginMm: items.closestMarginMm } : {}),
      },
    },
  };
}

/**
 * A greatest dimension in millimetres as the contract's centimetres (to 0.01 mm), or undefined when it is not a
 * usable size: zero or less once rounded (5e-323 mm is not a tumour), or beyond any finite number.
 */
export function sizeInCm(mm: number | null): number | undefined {
  if (mm === null) return undefined;
  const cm = Math.round(mm * 100) / 1000;
  return Number.isFinite(cm) && cm > 0 ? cm : undefined;
}

/** Event ids carry no ':' (they are BullMQ job ids) and stay short and printable. */
export function safeIdPart(value: string): string {
  return value
    .trim()
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .slice(0, 80);
}
