/**
 * The codes intake understands, for HL7 v2 (CAP electronic cancer checklist answers in OBX) and FHIR R4
 * (DiagnosticReport + Observations). One table per concept, so both formats map the same answers the same way and
 * docs/interop.md can list them. Only coded answers are mapped: a margin is never read from free text.
 */
import type { FnclccGrade, Margin, PathologyItemName, TumourDepth } from '@app/contracts';

/** Our own code systems, where no standard code exists (no LOINC or SNOMED CT code for R0/R1/R2 was found). */
export const LOCAL_SYSTEM = 'https://sarcoma-pathway.example/fhir/CodeSystem';
export const MARGIN_SYSTEM = `${LOCAL_SYSTEM}/resection-margin`;
export const DEPTH_SYSTEM = `${LOCAL_SYSTEM}/tumour-depth`;
export const FNCLCC_SYSTEM = `${LOCAL_SYSTEM}/fnclcc-grade`;
export const OBSERVATION_SYSTEM = `${LOCAL_SYSTEM}/pathology-observation`;
export const RULE_SYSTEM = `${LOCAL_SYSTEM}/pathway-rule`;
export const LOINC = 'http://loinc.org';
export const SNOMED = 'http://snomed.info/sct';
export const CAPECC = 'CAPECC';

/** What a pathology report must say for the pathway to act on it, and what it may add. */
export type PathologyItem = PathologyItemName | 'procedure';

/**
 * CAP soft-tissue resection checklist questions, as OBX-3 codes `nnnnn.100004300^label^CAPECC`. The ids follow the
 * CAP eCC shape; they are this service's table for the sarcoma protocol (the public samples carry no sarcoma
 * checklist). A centre whose CAP release numbers them differently changes this table, nothing else.
 */
/** OBX 60572-5 (Report template ID) answer naming the CAP soft-tissue resection protocol. */
export const CAP_SOFT_TISSUE_TEMPLATE = '58000.100004300';
/** LOINC 60572-5: "Report template ID", the OBX that names a synoptic report's protocol. */
export const REPORT_TEMPLATE_LOINC = '60572-5';

export const CAP_SOFT_TISSUE_QUESTIONS: Record<string, PathologyItem> = {
  '58001.100004300': 'procedure',
  '58010.100004300': 'sizeCm', // Tumor Size: greatest dimension (cm)
  '58020.100004300': 'depth', // Macroscopic Extent of Tumor
  '58030.100004300': 'histology', // Histologic Type
  '58040.100004300': 'grade', // FNCLCC Histologic Grade
  '58050.100004300': 'margin', // Margins
  '58060.100004300': 'closestMarginMm', // Distance of sarcoma from closest margin (mm)
};

/** CAP answers (OBX-5 CWE codes) for Margins. R2 is gross (macroscopic) tumour at the margin. */
export const CAP_MARGIN_ANSWERS: Record<string, Margin> = {
  '58051.100004300': 'R0', // Uninvolved by sarcoma
  '58052.100004300': 'R1', // Involved by sarcoma (microscopic)
  '58053.100004300': 'R2', // Gross (macroscopic) involvement by sarcoma
};

/** CAP answers for FNCLCC grade. "Cannot be assessed" is deliberately absent: it needs a person. */
export const CAP_GRADE_ANSWERS: Record<string, FnclccGrade> = {
  '58041.100004300': 1,
  '58042.100004300': 2,
  '58043.100004300': 3,
};

/** CAP answers for Macroscopic Extent of Tumor: above the superficial fascia is superficial, anything below is deep. */
export const CAP_DEPTH_ANSWERS: Record<string, TumourDepth> = {
  '58021.100004300': 'superficial', // Dermal
  '58022.100004300': 'superficial', // Subcutaneous
  '58023.100004300': 'deep', // Subfascial
  '58024.100004300': 'deep', // Intramuscular
  '58025.100004300': 'deep', // Intra-abdominal
  '58026.100004300': 'deep', // Retroperitoneal
  '58027.100004300': 'deep', // Intraosseous
};

/** FHIR: local codes for the same answers (Observation.valueCodeableConcept). */
export const MARGIN_CODES: Record<string, Margin> = { R0: 'R0', R1: 'R1', R2: 'R2' };
export const DEPTH_CODES: Record<string, TumourDepth> = { superficial: 'superficial', deep: 'deep' };
export const FNCLCC_CODES: Record<string, FnclccGrade> = { '1': 1, '2': 2, '3': 3 };

/**
 * mCODE histologic grade values (SNOMED CT) as FNCLCC grades: FNCLCC is a three-tier system, low / intermediate /
 * high, so the mapping is one to one.
 */
export const SNOMED_GRADE_CODES: Record<string, FnclccGrade> = {
  '1155708003': 1, // low grade
  '1286893008': 2, // intermediate grade
  '1155707008': 3, // high grade
};

/** FHIR Observation.code for each item: LOINC where one exists (mCODE tumour size), our own codes otherwise. */
export const OBSERVATION_CODES: { item: PathologyItem; system: string; code: string; display: string }[] = [
  { item: 'sizeCm', system: LOINC, code: '33728-7', display: 'Size.maximum dimension in Tumor' },
  { item: 'sizeCm', system: LOINC, code: '21889-1', display: 'Size Tumor' },
  { item: 'sizeCm', system: OBSERVATION_SYSTEM, code: 'tumour-size', display: 'Tumour size, greatest dimension' },
  { item: 'grade', system: OBSERVATION_SYSTEM, code: 'fnclcc-grade', display: 'FNCLCC histologic grade' },
  { item: 'depth', system: OBSERVATION_SYSTEM, code: 'tumour-depth', display: 'Tumour depth' },
  { item: 'margin', system: OBSERVATION_SYSTEM, code: 'margin-status', display: 'Resection margin (R0/R1/R2)' },
  {
    item: 'closestMarginMm',
    system: OBSERVATION_SYSTEM,
    code: 'closest-margin-distance',
    display: 'Distance of tumour from closest margin',
  },
  { item: 'histology', system: OBSERVATION_SYSTEM, code: 'histologic-type', display: 'Histologic type' },
];

/** Length units accepted for a size or a distance, to centimetres or millimetres. */
export const LENGTH_IN_MM: Record<string, number> = { mm: 1, cm: 10, m: 1000 };

/**
 * A table's own entry for a code, or undefined. Codes come from the message, so `table[code]` is not enough: for
 * `constructor` or `__proto__` it answers what every object inherits.
 */
export function lookup<T>(table: Record<string, T>, code: unknown): T | undefined {
  return typeof code === 'string' && Object.hasOwn(table, code) ? table[code] : undefined;
}
