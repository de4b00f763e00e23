/**
 * HL7 v2 intake under fuzzing against the real api (issue 6, bad input): 3,000 malformed messages over POST /hl7/v2
 * and 2,000 over MLLP (four connections), on top of the 10,000 of libs/interop/src/hl7v2/oru.fuzz.spec.ts through the
 * same parser and mapping. Each is stored and answered with an ACK (AA, AE or AR) that reads back and never repeats the
 * patient's identifiers, or with a 4xx for what is not an HL7 body; no 5xx, the listener stays up, memory flat. Also:
 * the MLLP connection limit and a sender that does not wait for its ACKs.
 */
import type { INestApplication } from '@nestjs/common';
import { parseHl7v2, field } from '@app/interop';
import { MllpListener } from '../../apps/api/src/interop/mllp-listener';
import { startApi, seedDemoTeams } from '../support/api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { MllpClient } from '../support/mllp';
import { UpstreamPublisher, uniquePrefix } from '../support/queues';
import { sarcomaOru } from '../../libs/interop/src/hl7v2/testing';
import { assertNoLeak, FUZZ_SEED, generated, heapAfterGcMb, inParallel, report, send, transport } from './harness';
import { malformedHl7, PHI_MARKER } from './hl7-arbitraries';

const OVER_HTTP = Number(process.env.FUZZ_HL7_HTTP ?? 3_000);
const OVER_MLLP = Number(process.env.FUZZ_HL7_MLLP ?? 2_000);
const MLLP_CONNECTIONS = 4;

let db: TestDatabase;
let api: INestApplication;
let queue: UpstreamPublisher;
let base: string;
let port: number;

beforeAll(async () => {
  db = await createTestDatabase('fuzz_hl7');
  await seedDemoTeams(db.pool);
  const prefix = uniquePrefix('fuzz-hl7');
  queue = new UpstreamPublisher(prefix);
  ({ app: api, base } = await startApi({
    databaseUrl: db.url,
    prefix,
    config: { INTAKE_RATE_LIMIT: 0, MLLP_MAX_CONNECTIONS: MLLP_CONNECTIONS + 2 },
  }));
  port = api.get(MllpListener).port();
});
afterAll(async () => {
  await api?.close();
  await queue?.destroy();
  await db?.drop();
});

/** An ACK: MSH first, MSA-1 the code; never the patient's identifiers. */
function checkAck(ack: string, what: string): string {
  if (ack.includes(PHI_MARKER)) throw new Error(`the ACK repeats a patient identifier: ${what}`);
  const code = field(parseHl7v2(ack), 'MSA', 1);
  if (!['AA', 'AE', 'AR'].includes(code)) throw new Error(`ACK code ${code} for ${what} (FUZZ_SEED=${FUZZ_SEED})`);
  return code;
}

it(`answers ${OVER_HTTP} malformed messages over HTTP and ${OVER_MLLP} over MLLP, each stored and acknowledged`, async () => {
  const heapBefore = await heapAfterGcMb();
  const started = Date.now();
  const codes: Record<string, number> = { AA: 0, AE: 0, AR: 0, 415: 0 };
  await inParallel(generated(malformedHl7, OVER_HTTP), 8, async (raw) => {
    const res = await send(`${base}/hl7/v2`, {
      method: 'POST',
      headers: { authorization: 'Bearer demo-integration-key', 'content-type': 'x-application/hl7-v2+er7' },
      body: raw,
    });
    const text = await res.text();
    assertNoLeak(res.status, text, `POST /hl7/v2 ${JSON.stringify(raw.slice(0, 100))}`);
    // an empty body, or one that is only a byte-order mark (read as text, it is empty): 415, nothing to store
    if (res.status === 415 && raw.replace(/^\uFEFF/, '').length === 0) return void (codes[415] += 1);
    if (res.status !== 200)
      throw new Error(`${res.status} for ${JSON.stringify(raw.slice(0, 100))}: ${text.slice(0, 200)}`);
    codes[checkAck(text, JSON.stringify(raw.slice(0, 100)))] += 1;
  });

  // MLLP, one lane per connection; the framing bytes cannot appear inside a message (no sender could send them)
  const clients = await Promise.all(Array.from({ length: MLLP_CONNECTIONS }, () => MllpClient.open(port)));
  let mllpAnswered = 0;
  const lanes = clients.map(async (client, lane) => {
    let i = 0;
    for (const raw of generated(
      malformedHl7.map((m) => m.replace(/[\x0b\x1c]/g, '')),
      Math.ceil(OVER_MLLP / MLLP_CONNECTIONS),
      250,
      100 + lane,
    )) {
      const ack = await client.send(raw, 20_000);
      codes[checkAck(ack.join('\r'), `MLLP #${lane}.${i++} ${JSON.stringify(raw.slice(0, 100))}`)] += 1;
      mllpAnswered += 1;
    }
  });
  await Promise.all(lanes);
  await Promise.all(clients.map((c) => c.close()));
  const seconds = (Date.now() - started) / 1000;
  const heapAfter = await heapAfterGcMb();

  const answered = codes.AA + codes.AE + codes.AR;
  expect(answered + codes[415]).toBe(OVER_HTTP + mllpAnswered);
  expect(mllpAnswered).toBeGreaterThanOrEqual(OVER_MLLP);
  // every acknowledged message is on file, with its answer
  const { rows } = await db.pool.query<{ n: number; unanswered: number }>(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE ack_code IS NULL)::int AS unanswered FROM inbound_messages`,
  );
  expect(rows[0]).toEqual({ n: answered, unanswered: 0 });
  report(
    `HL7 v2: ${OVER_HTTP} over HTTP + ${mllpAnswered} over MLLP: ${codes.AA} AA, ${codes.AE} AE, ${codes.AR} AR, ` +
      `${codes[415]} × 415 (empty body), 0 × 5xx, all stored, in ${seconds.toFixed(1)} s; heap after GC ${heapBefore} → ${heapAfter} MB (seed ${FUZZ_SEED}; ${transport.retries} transport retries)`,
  );
  expect(Math.min(codes.AA, codes.AE, codes.AR)).toBeGreaterThan(0);
  expect(heapAfter - heapBefore).toBeLessThan(40);
}, 150_000);

it('refuses a message with NUL bytes with AR (it used to be unstorable: 503, resent for ever) and stays up', async () => {
  const client = await MllpClient.open(port);
  const ack = await client.send(
    sarcomaOru({ controlId: 'NUL-1', mrn: 'M1', reportId: 'R1' }).replace('OBX|1', 'OBX|\u00001'),
  );
  expect(ack[1]).toBe('MSA|AR|NUL-1|the message holds NUL characters (0x00), which HL7 v2 text may not contain');
  expect(ack[2]).toContain('102^Data type error^HL70357');
  // the next message on the same connection is answered as usual
  expect((await client.send(sarcomaOru({ controlId: 'OK-1', mrn: 'M1', reportId: 'R1' })))[1]).toBe('MSA|AA|OK-1|');
  await client.close();
  const { rows } = await db.pool.query<{ raw: string }>(`SELECT raw FROM inbound_messages WHERE control_id = 'NUL-1'`);
  expect(rows[0].raw).toContain('OBX|\ufffd1');
});

it('closes connections past MLLP_MAX_CONNECTIONS, and answers a sender that does not wait, in order', async () => {
  const limit = MLLP_CONNECTIONS + 2;
  const listener = api.get(MllpListener);
  const idle = Date.now() + 5000;
  while (listener.openConnections() > 0 && Date.now() < idle) await new Promise((r) => setTimeout(r, 20));
  expect(listener.openConnections()).toBe(0);
  const open = await Promise.all(Array.from({ length: limit }, () => MllpClient.open(port)));
  const extra = await MllpClient.open(port);
  const deadline = Date.now() + 5000;
  while (!extra.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(extra.closed).toBe(true);
  expect(open.every((c) => !c.closed)).toBe(true);
  expect(listener.openConnections()).toBe(limit);
  // 40 messages written at once (more than the 4 the listener reads ahead): all answered, in order
  const flood = open[0];
  const ids = Array.from({ length: 40 }, (_, i) => `FLOOD-${i}`);
  const acks = Promise.all(ids.map(() => flood.nextAck(30_000)));
  for (const id of ids)
    flood.write(
      Buffer.concat([
        Buffer.from([0x0b]),
        Buffer.from(sarcomaOru({ controlId: id, mrn: 'M2', reportId: id })),
        Buffer.from([0x1c, 0x0d]),
      ]),
    );
  expect((await acks).map((a) => a.split('\r')[1])).toEqual(ids.map((id) => `MSA|AA|${id}|`));
  await Promise.all(open.map((c) => c.close()));
});
