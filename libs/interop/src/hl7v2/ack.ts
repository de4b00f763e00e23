/**
 * HL7 v2 acknowledgements (original mode): `AA` the message became events; `AE` understood but not usable as it
 * stands (the reason in MSA-3 and ERR); `AR` not readable, or not a message this service takes. Pure.
 */
import type { Hl7Message } from '@medplum/core';
import { field } from './parse';

export type AckCode = 'AA' | 'AE' | 'AR';

/** HL7 table 0357 (message error condition codes) used here. */
export const ERROR_CODES = {
  requiredFieldMissing: '101',
  dataTypeError: '102',
  tableValueNotFound: '103',
  unsupportedMessageType: '200',
  applicationError: '207',
} as const;

export interface AckInput {
  code: AckCode;
  /** The message answered, when it could be parsed (its sender becomes the receiver). */
  message: Hl7Message | null;
  /** MSH-10 of the message answered (from the parsed message, or dug out of a broken one). */
  controlId: string;
  /** Said in MSA-3 and ERR-8; for AE and AR. Never carries patient data. */
  text: string;
  errorCode?: string;
  /** ERR-2, e.g. "OBX^7^5" or "PID^1^3". */
  errorLocation?: string;
  now: Date;
  /** Our MSH-3 / MSH-4. */
  application?: string;
  facility?: string;
}

export function buildAck(input: AckInput): string {
  const message = input.message;
  const sendingApp = message ? field(message, 'MSH', 3) : '';
  const sendingFacility = message ? rawField(message, 'MSH', 4) : '';
  const version = (message && field(message, 'MSH', 12)) || '2.5.1';
  const processing = (message && field(message, 'MSH', 11)) || 'P';
  const trigger = message ? field(message, 'MSH', 9, 2) : '';
  const msh = [
    'MSH',
    '^~\\&',
    escape(input.application ?? 'SARCOMA-PATHWAY'),
    escape(input.facility ?? ''),
    escape(sendingApp),
    sendingFacility,
    hl7Timestamp(input.now),
    '',
    `ACK${trigger ? `^${escape(trigger)}` : ''}^ACK`,
    `ACK${input.now.getTime().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`,
    processing,
    version,
  ].join('|');
  const msa = ['MSA', input.code, escape(input.controlId), input.code === 'AA' ? '' : escape(input.text)].join('|');
  const segments = [msh, msa];
  if (input.code !== 'AA') {
    // ERR-2 location, ERR-3 HL7 error code, ERR-4 severity, ERR-8 user message
    const code = input.errorCode ?? ERROR_CODES.applicationError;
    segments.push(
      [
        'ERR',
        '',
        input.errorLocation ?? '',
        `${code}^${ERROR_NAMES[code] ?? ''}^HL70357`,
        'E',
        '',
        '',
        '',
        escape(input.text),
      ].join('|'),
    );
  }
  return segments.join('\r');
}

const ERROR_NAMES: Record<string, string> = {
  '101': 'Required field missing',
  '102': 'Data type error',
  '103': 'Table value not found',
  '200': 'Unsupported message type',
  '207': 'Application internal error',
};

/** HL7 escape sequences for the delimiters, so a reason can never break the ACK's structure. */
function escape(text: string): string {
  return text
    .replace(/\\/g, '\\E\\')
    .replace(/\|/g, '\\F\\')
    .replace(/\^/g, '\\S\\')
    .replace(/~/g, '\\R\\')
    .replace(/&/g, '\\T\\')
    .replace(/[\r\n]+/g, ' ');
}

function rawField(message: Hl7Message, segment: string, index: number): string {
  return message.getSegment(segment)?.getField(index)?.toString().trim() ?? '';
}

function hl7Timestamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, '+0000');
}
