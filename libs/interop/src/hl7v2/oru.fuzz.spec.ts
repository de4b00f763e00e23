/**
 * Property-based fuzzing of HL7 v2 intake's pure part (issue 6, bad input): 10,000+ malformed messages through the
 * parser, the ORU^R01 mapping and the ACK builder. None may throw anything but Hl7ParseError (which the intake answers
 * AR), every decision is AA, AE or AR with a reason, every ACK is itself a readable HL7 message answering the control
 * id, never repeats the patient's identifiers, and no message takes long (the parser's regular expressions once took
 * 13 s on 40 kB of spaces). Generators: test/fuzz/hl7-arbitraries.ts.
 */
import fc from 'fast-check';
import { validateClinicalEvent } from '@app/contracts';
import { malformedHl7, PHI_MARKER } from '../../../../test/fuzz/hl7-arbitraries';
import { buildAck } from './ack';
import { decideOru } from './oru';
import { Hl7ParseError, MAX_HL7_MESSAGE_BYTES, controlIdOf, field, parseHl7v2 } from './parse';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const NOW = new Date('2030-01-01T00:00:00Z');

/** Taken from the message as sent: an id with a control character or a date the contract refuses is reported back. */
const SENDER_FIELDS = ['patientId', 'occurredAt', 'payload.reportId'];
let contractInvalid = 0;

/** What the intake does with a message (apps/api/src/interop/hl7-intake.ts), minus storage and the queue. */
function answer(raw: string): { code: string; ack: string; events: number } {
  let message;
  try {
    message = parseHl7v2(raw);
  } catch (err) {
    if (!(err instanceof Hl7ParseError)) throw err;
    return {
      code: 'AR',
      ack: buildAck({ code: 'AR', message: null, controlId: controlIdOf(raw), text: err.message, now: NOW }),
      events: 0,
    };
  }
  const decision = decideOru(message);
  if (!['AA', 'AE', 'AR'].includes(decision.ack)) throw new Error(`decision ${decision.ack}`);
  // The intake runs the contract over the events (AE for what fails); codes, numbers and labels come out valid.
  for (const event of decision.events) {
    const checked = validateClinicalEvent(event);
    if (checked.ok) continue;
    contractInvalid += 1;
    const fields = checked.errors.map((e) => e.field).filter((f) => !SENDER_FIELDS.includes(f));
    if (fields.length > 0) throw new Error(`the mapping made an invalid ${fields.join(', ')}`);
  }
  if (decision.ack !== 'AA' && !decision.text) throw new Error('a refusal without a reason');
  const ack = buildAck({
    code: decision.ack,
    message,
    controlId: field(message, 'MSH', 10),
    text: decision.text,
    ...(decision.ack !== 'AA' ? { errorCode: decision.errorCode, errorLocation: decision.errorLocation } : {}),
    now: NOW,
  });
  return { code: decision.ack, ack, events: decision.events.length };
}

describe('HL7 v2 intake under fuzzing', () => {
  it(`answers ${RUNS} malformed messages with an ACK that reads back, never throws, and never repeats the patient`, () => {
    const codes: Record<string, number> = { AA: 0, AE: 0, AR: 0 };
    let slowest = 0;
    fc.assert(
      fc.property(malformedHl7, (raw) => {
        const started = performance.now();
        const { code, ack } = answer(raw);
        slowest = Math.max(slowest, performance.now() - started);
        codes[code] += 1;
        // the ACK is an HL7 message of its own: MSH, then MSA with our code
        const parsed = parseHl7v2(ack);
        expect(field(parsed, 'MSA', 1)).toBe(code);
        expect(ack.split('\r')).toHaveLength(code === 'AA' ? 2 : 3);
        if (ack.includes(PHI_MARKER)) throw new Error(`the ACK repeats a patient identifier: ${ack.slice(0, 300)}`);
      }),
      { numRuns: RUNS },
    );
    // every kind of answer was exercised, and no message took long
    expect(codes.AA + codes.AE + codes.AR).toBe(RUNS);
    expect(Math.min(codes.AA, codes.AE, codes.AR)).toBeGreaterThan(0);
    expect(contractInvalid).toBeGreaterThan(0);
    process.stdout.write(
      `[fuzz] HL7 v2 (pure): ${RUNS} messages: ${codes.AA} AA, ${codes.AE} AE, ${codes.AR} AR; ${contractInvalid} events refused by the contract (sender ids or times); slowest ${Math.round(slowest)} ms\n`,
    );
    expect(slowest).toBeLessThan(1000);
  });

  it('reads 1 MB of spaces, separators or segment names in linear time, and refuses anything larger with AR', () => {
    for (const unit of [' ', ' OBX|', '|', '^~', '\r', 'MSH|']) {
      const raw = `MSH|^~\\&|LAB|FAC|||20250101||ORU^R01|c1|P|2.5.1\rOBX|1|ST|x||${unit.repeat(Math.floor(900_000 / unit.length))}x`;
      const started = Date.now();
      expect(['AA', 'AE', 'AR']).toContain(answer(raw).code);
      expect(Date.now() - started).toBeLessThan(5000);
    }
    const tooLarge = `MSH|^~\\&|LAB|FAC|||20250101||ORU^R01|c1|P|2.5.1\r${'x'.repeat(MAX_HL7_MESSAGE_BYTES)}`;
    expect(() => parseHl7v2(tooLarge)).toThrow(`message larger than ${MAX_HL7_MESSAGE_BYTES} bytes`);
    expect(answer(tooLarge)).toMatchObject({ code: 'AR', events: 0 });
    expect(answer(tooLarge).ack).toContain('MSA|AR|c1|message larger than');
  });
});
