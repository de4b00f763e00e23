/**
 * Sarcoma ORU^R01 messages in the CAP eCC structure of the NAACCR samples, for tests: every margin, grade and depth
 * answer, corrected and resent messages. Fictitious patients only.
 */
import type { FnclccGrade, Margin } from '@app/contracts';
import { CAP_DEPTH_ANSWERS, CAP_GRADE_ANSWERS, CAP_MARGIN_ANSWERS, CAP_SOFT_TISSUE_TEMPLATE } from '../codes';

export interface SarcomaReport {
  controlId: string;
  mrn: string;
  reportId: string;
  status?: 'F' | 'C' | 'P';
  margin?: Margin | null;
  grade?: FnclccGrade | null;
  /** A CAP depth answer code, or 'superficial' / 'deep' for the first matching one. */
  depth?: 'superficial' | 'deep' | null;
  sizeCm?: number | null;
  closestMarginMm?: number;
  histology?: string;
  reportedAt?: string;
  /** Segment separator: real feeds use LF as often as CR. */
  separator?: string;
}

const codeFor = <T>(table: Record<string, T>, value: T) => Object.keys(table).find((k) => table[k] === value)!;

export function sarcomaOru(r: SarcomaReport): string {
  const at = r.reportedAt ?? '202506101430+0200';
  const obx: string[] = [
    `OBX|1|ST|60573-3^Report template source^LN||CAP eCC||||||F`,
    `OBX|2|CWE|60572-5^Report template ID^LN||${CAP_SOFT_TISSUE_TEMPLATE}^SOFT TISSUE^CAPECC||||||F`,
    `OBX|3|CWE|58001.100004300^Procedure^CAPECC||58002.100004300^Wide excision^CAPECC||||||F`,
  ];
  if (r.sizeCm !== null) obx.push(`OBX|4|NM|58010.100004300^Greatest Dimension^CAPECC||${r.sizeCm ?? 7.5}|cm|||||F`);
  if (r.depth !== null)
    obx.push(
      `OBX|5|CWE|58020.100004300^Macroscopic Extent of Tumor^CAPECC||${codeFor(CAP_DEPTH_ANSWERS, r.depth ?? 'deep')}^${r.depth ?? 'deep'}^CAPECC||||||F`,
    );
  obx.push(
    `OBX|6|CWE|58030.100004300^Histologic Type^CAPECC||8811.100004300^${r.histology ?? 'Myxofibrosarcoma'}^CAPECC^88113^Myxofibrosarcoma^ICDO3||||||F`,
  );
  if (r.grade !== null)
    obx.push(
      `OBX|7|CWE|58040.100004300^FNCLCC Histologic Grade^CAPECC||${codeFor(CAP_GRADE_ANSWERS, r.grade ?? 3)}^Grade ${r.grade ?? 3}^CAPECC||||||F`,
    );
  if (r.margin !== null)
    obx.push(
      `OBX|8|CWE|58050.100004300^Margins^CAPECC||${codeFor(CAP_MARGIN_ANSWERS, r.margin ?? 'R0')}^${r.margin ?? 'R0'}^CAPECC||||||F`,
    );
  if (r.closestMarginMm !== undefined)
    obx.push(`OBX|9|NM|58060.100004300^Distance from Closest Margin^CAPECC||${r.closestMarginMm}|mm|||||F`);
  return [
    `MSH|^~\\&|LIS|SARCOMA PATH LAB^99D9999999^CLIA|SARCOMA-PATHWAY|SARCOMA CENTRE|${at}||ORU^R01^ORU_R01|${r.controlId}|P|2.5.1|||||||||VOL_V_50_ORU_R01^NAACCR_CP`,
    `PID|1||${r.mrn}^^^^MR~999999999^^^^SS||Testpatient^Fictional||19700101|F`,
    `OBR|1||${r.reportId}|60568-3^Synoptic Report^LN|||${at}|||||||||||||||${at}|||${r.status ?? 'F'}`,
    ...obx,
  ].join(r.separator ?? '\r');
}
