/**
 * HL7 v2 parsing with @medplum/core's Hl7Message (see docs/interop.md for why this library), after the repairs real
 * feeds need: MLLP framing bytes left in, LF or CRLF instead of CR, segments run together on one line, stray spaces,
 * blank lines. Pure.
 */
import { Hl7Message } from '@medplum/core';

/** The message cannot be read at all: answered with an `AR`. */
export class Hl7ParseError extends Error {}

/** Segments we expect in pathology results; only these are split out when a feed runs them together on one line. */
const SEGMENT_NAMES = [
  'MSH',
  'SFT',
  'PID',
  'PD1',
  'NK1',
  'PV1',
  'PV2',
  'ORC',
  'OBR',
  'OBX',
  'NTE',
  'SPM',
  'TQ1',
  'CTI',
];
/**
 * The one space right before a known segment name and its field separator: where a feed ran two segments together.
 * No quantifier, so the match is linear in the line's length (` +(?=…)` was quadratic on a long run of spaces: 40 kB
 * of them held the event loop for 13 s); the other spaces before it are trimmed off the segment before it.
 */
const RUN_TOGETHER = new RegExp(` (?=(?:${SEGMENT_NAMES.join('|')})\\|)`, 'g');

/** Longest message accepted (a long narrative report is tens of kB; anything near this is not a pathology report). */
export const MAX_HL7_MESSAGE_BYTES = 1_000_000;

/** Repairs what real feeds do to a message (see the file's comment); linear in the message's length. */
export function normalizeHl7(raw: string): string {
  return raw
    .replace(/[\x0b\x1c]/g, '')
    .split(/\r\n|\n|\r/)
    .flatMap((line) => line.split(RUN_TOGETHER))
    .map((segment) => segment.trim())
    .filter((segment) => segment !== '')
    .join('\r');
}

export function parseHl7v2(raw: string): Hl7Message {
  if (Buffer.byteLength(raw, 'utf8') > MAX_HL7_MESSAGE_BYTES)
    throw new Hl7ParseError(`message larger than ${MAX_HL7_MESSAGE_BYTES} bytes`);
  const text = normalizeHl7(raw);
  if (!text.startsWith('MSH')) throw new Hl7ParseError('the message does not start with an MSH segment');
  if (text.length < 8 || text[3] === undefined || /[A-Za-z0-9\s]/.test(text[3]))
    throw new Hl7ParseError('MSH-1/MSH-2: no field separator and encoding characters');
  let message: Hl7Message;
  try {
    message = Hl7Message.parse(text);
  } catch (err) {
    throw new Hl7ParseError(`not an HL7 v2 message: ${(err as Error).message}`);
  }
  const msh = message.getSegment('MSH');
  if (!msh) throw new Hl7ParseError('no MSH segment');
  if (!field(message, 'MSH', 9, 1)) throw new Hl7ParseError('MSH-9 (message type) is empty');
  return message;
}

/** A trimmed component of a segment's field (1-based, as the HL7 tables number them); '' when absent. */
export function field(message: Hl7Message, segment: string, index: number, component = 1, repetition = 0): string {
  return (message.getSegment(segment)?.getField(index)?.getComponent(component, undefined, repetition) ?? '').trim();
}

/** MSH-10, found even in a message too broken to parse (so an `AR` can still name what it answers). */
export function controlIdOf(raw: string): string {
  const msh = normalizeHl7(raw).split('\r')[0] ?? '';
  if (!msh.startsWith('MSH') || msh.length < 4) return '';
  const fields = msh.split(msh[3]);
  return (fields[9] ?? '').trim().slice(0, 199);
}
