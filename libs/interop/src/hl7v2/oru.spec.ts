import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateClinicalEvent } from '@app/contracts';
import { buildAck, controlIdOf, decideOru, field, hl7Time, Hl7ParseError, normalizeHl7, parseHl7v2 } from '../index';
import { sarcomaOru } from './testing';

const decide = (raw: string) => decideOru(parseHl7v2(raw));
const SAMPLES = join(__dirname, '..', '..', '..', '..', '..', 'shared', 'interop-samples', 'hl7v2-naaccr');
const base = { controlId: 'MSG0001', mrn: 'MRN-1', reportId: 'SP-25-1' };

describe('CAP soft-tissue checklist (ORU^R01) to pathology.reported', () => {
  it.each([
    ['R0', 1, 'superficial'],
    ['R0', 2, 'deep'],
    ['R1', 3, 'deep'],
    ['R1', 1, 'superficial'],
    ['R2', 2, 'superficial'],
    ['R2', 3, 'deep'],
  ] as const)('margin %s, grade %s, %s: one valid event with every item', (margin, grade, depth) => {
    const decision = decide(sarcomaOru({ ...base, margin, grade, depth, sizeCm: 7.5, closestMarginMm: 1.5 }));
    expect(decision.ack).toBe('AA');
    expect(decision.events).toHaveLength(1);
    const event = decision.events[0];
    expect(event).toMatchObject({
      eventId: 'hl7.99D9999999.MSG0001',
      type: 'pathology.reported',
      patientId: 'MRN-1',
      occurredAt: '2025-06-10T14:30:00+02:00',
      payload: { reportId: 'SP-25-1', status: 'final', margin, grade, depth, sizeCm: 7.5, closestMarginMm: 1.5 },
    });
    expect(validateClinicalEvent(event).ok).toBe(true);
  });

  it('a sending facility with half a surrogate pair still makes a valid event (found by the fuzz test)', () => {
    const raw = sarcomaOru({ ...base, margin: 'R0', grade: 1, depth: 'superficial' }).replace(
      'SARCOMA PATH LAB^99D9999999^CLIA',
      '\ud800',
    );
    const decision = decide(raw);
    expect(decision.events).toHaveLength(1);
    expect(decision.events[0].source).toBe('hl7v2 \ufffd');
    expect(validateClinicalEvent(decision.events[0]).ok).toBe(true);
  });

  it('a corrected report (OBR-25 C) is status corrected; a resent message keeps its event id (a duplicate)', () => {
    const corrected = decide(sarcomaOru({ ...base, controlId: 'MSG0002', status: 'C', margin: 'R1' }));
    expect(corrected.events[0]).toMatchObject({ eventId: 'hl7.99D9999999.MSG0002', payload: { status: 'corrected' } });
    const again = decide(sarcomaOru({ ...base, controlId: 'MSG0002', status: 'C', margin: 'R1' }));
    expect(again.events[0].eventId).toBe(corrected.events[0].eventId);
  });

  it('sizes in mm are converted; LF separators, stray spaces and run-together segments are tolerated', () => {
    const raw = sarcomaOru({ ...base, separator: '\n' })
      .replace('|7.5|cm|', '| 75 |mm|')
      .replace('\nPID|', ' PID|');
    const decision = decide(raw);
    expect(decision.ack).toBe('AA');
    expect(decision.events[0].payload).toMatchObject({ sizeCm: 7.5 });
  });

  it('R-PATH-ABSTRACTION: a margin not coded is never guessed: AE, and a pathology.unstructured naming it', () => {
    const decision = decide(sarcomaOru({ ...base, margin: null }));
    expect(decision.ack).toBe('AE');
    expect(decision.text).toMatch(/needs manual abstraction: margin not coded/);
    expect(decision.events).toEqual([
      expect.objectContaining({
        type: 'pathology.unstructured',
        payload: { reportId: 'SP-25-1', status: 'final', missing: ['margin'] },
      }),
    ]);
    // a free-text margin answer (ST instead of CWE) is the same as none
    const text = sarcomaOru(base).replace(
      /OBX\|8\|CWE\|58050\.100004300\^Margins\^CAPECC\|\|[^|]*/,
      'OBX|8|ST|58050.100004300^Margins^CAPECC||margins clear',
    );
    expect(decide(text).events[0]).toMatchObject({ type: 'pathology.unstructured', payload: { missing: ['margin'] } });
  });

  it('a preliminary result, a message without a medical record number, and a non-ORU message are refused with the reason', () => {
    expect(decide(sarcomaOru({ ...base, status: 'P' }))).toMatchObject({
      ack: 'AE',
      events: [],
      text: expect.stringContaining("OBR-25 result status 'P' is not acted on"),
    });
    const noMrn = sarcomaOru(base).replace('MRN-1^^^^MR~', '');
    expect(decide(noMrn)).toMatchObject({ ack: 'AE', events: [], errorLocation: 'PID^1^3' });
    const adt = sarcomaOru(base).replace('ORU^R01^ORU_R01', 'ADT^A01^ADT_A01');
    expect(decide(adt)).toMatchObject({ ack: 'AR', text: expect.stringContaining('ADT^A01 is not taken') });
  });
});

describe('the public NAACCR Volume V samples (none is a sarcoma)', () => {
  const files = readdirSync(SAMPLES).filter((f) => f.endsWith('.txt'));

  it('are all found', () => {
    expect(files).toHaveLength(6);
  });

  it.each(readdirSync(SAMPLES).filter((f) => f.endsWith('.txt')))(
    '%s parses, and maps to no sarcoma result',
    (file) => {
      const raw = readFileSync(join(SAMPLES, file), 'utf8');
      const decision = decide(raw);
      expect(decision.ack).toBe('AE');
      expect(decision.events.filter((e) => e.type === 'pathology.reported')).toEqual([]);
      expect(decision.text.length).toBeGreaterThan(10);
      for (const event of decision.events) expect(validateClinicalEvent(event).ok).toBe(true);
      // the reason names no patient: not the name, nor the birth date (report numbers are named: the lab needs them)
      expect(decision.text).not.toMatch(/Cane|CANE|19570706/);
    },
  );

  it('the CAP synoptic samples of other protocols are named as such; the narrative ones need abstraction', () => {
    const text = (file: string) => decide(readFileSync(join(SAMPLES, file), 'utf8')).text;
    expect(text('ORU_R01_NAACCRv5_Synoptic_CAPeCC_itemized_short.txt')).toMatch(/PID-3 .*; report .*AMPULLA OF VATER/);
    expect(text('ORU_R01_NAACCRv5_Synoptic_CAPeCC_sections_long.txt')).toMatch(/PROSTATE GLAND/);
    expect(text('ORU_R01_NAACCRv5_Narrative_sections.txt')).toMatch(/needs manual abstraction: margin, FNCLCC grade/);
  });
});

describe('parsing and acknowledgements', () => {
  it('refuses what is not HL7 v2 with a reason', () => {
    expect(() => parseHl7v2('hello')).toThrow(Hl7ParseError);
    expect(() => parseHl7v2('PID|1||x')).toThrow(/MSH/);
    expect(() => parseHl7v2('MSH|^~\\&|A|B|C|D|2025||')).toThrow(/MSH-9/);
    expect(controlIdOf('MSH|^~\\&|A|B|C|D|2025||XYZ|CTRL-9|P')).toBe('CTRL-9');
  });

  it('normalizes MLLP bytes, CRLF and blank lines', () => {
    expect(normalizeHl7('\x0bMSH|^~\\&|A\r\n\r\nPID|1  \n\x1c\r')).toBe('MSH|^~\\&|A\rPID|1');
  });

  it('builds AA, AE and AR acknowledgements naming the message answered, and escapes the reason', () => {
    const message = parseHl7v2(sarcomaOru(base));
    const now = new Date('2030-01-02T03:04:05Z');
    const aa = buildAck({ code: 'AA', message, controlId: 'MSG0001', text: 'ok', now }).split('\r');
    expect(aa[1]).toBe('MSA|AA|MSG0001|');
    expect(aa[0]).toMatch(
      /^MSH\|\^~\\&\|SARCOMA-PATHWAY\|\|LIS\|SARCOMA PATH LAB\^99D9999999\^CLIA\|20300102030405\+0000\|\|ACK\^R01\^ACK\|/,
    );
    const ae = parseHl7v2(
      buildAck({
        code: 'AE',
        message,
        controlId: 'MSG0001',
        text: 'margin | not ^ coded',
        errorCode: '101',
        errorLocation: 'OBX^8',
        now,
      }),
    );
    expect(field(ae, 'MSA', 1)).toBe('AE');
    expect(ae.getSegment('MSA')?.getField(3)?.toString()).toBe('margin \\F\\ not \\S\\ coded');
    expect(field(ae, 'ERR', 3)).toBe('101');
    const ar = buildAck({ code: 'AR', message: null, controlId: '', text: 'not HL7', now });
    expect(ar.split('\r')[1]).toBe('MSA|AR||not HL7');
  });

  it('reads HL7 timestamps with and without an offset', () => {
    expect(hl7Time('202506101430+0200', { defaultUtcOffset: '+00:00' })).toBe('2025-06-10T14:30:00+02:00');
    expect(hl7Time('20250610', { defaultUtcOffset: '+01:00' })).toBe('2025-06-10T00:00:00+01:00');
    expect(hl7Time('2025061014305.5', { defaultUtcOffset: '+00:00' })).toBeNull();
    expect(hl7Time('20251310', { defaultUtcOffset: '+00:00' })).toBeNull();
  });
});
