/**
 * HL7 v2 pathology results into the pathway, over MLLP (a real socket) and HTTP, with the worker consuming the real
 * queue into PostgreSQL: every margin/grade/depth answer ends where the pure pathway says; a resent message is a
 * duplicate; a corrected report supersedes; a report without a coded margin becomes a data-quality review; the six
 * public NAACCR samples are each stored and answered with the reason; MLLP framing survives several messages on one
 * connection and a half-sent message cut off by a disconnect.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import type { ClinicalEvent, FnclccGrade, Margin } from '@app/contracts';
import { decideOru, parseHl7v2 } from '@app/interop';
import { pathologyBundle } from '../../libs/interop/src/fhir/testing';
import { sarcomaOru } from '../../libs/interop/src/hl7v2/testing';
import { createPathway } from '@app/pathway';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { MllpListener } from '../../apps/api/src/interop/mllp-listener';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { clinicalEvent } from '../support/events';
import { MllpClient } from '../support/mllp';
import { startOwnRedis } from '../support/redis-server';
import { eventsLogged, uniquePrefix, waitFor } from '../support/queues';
import { startWorker } from '../support/worker';
import { startApi, seedDemoTeams } from '../support/api';

const SAMPLES = join(__dirname, '..', '..', '..', 'shared', 'interop-samples', 'hl7v2-naaccr');
let db: TestDatabase;
let api: INestApplication;
let worker: INestApplicationContext;
let base: string;
let mllpPort: number;

beforeAll(async () => {
  db = await createTestDatabase('hl7');
  await seedDemoTeams(db.pool);
  const prefix = uniquePrefix('hl7');
  worker = await startWorker({ databaseUrl: db.url, prefix });
  ({ app: api, base } = await startApi({ databaseUrl: db.url, prefix }));
  mllpPort = api.get(MllpListener).port();
});
afterAll(async () => {
  await api.close();
  await worker.close();
  await db.drop();
});

const headers = (key: string, type = 'application/json') => ({ authorization: `Bearer ${key}`, 'content-type': type });
async function postEvent(event: ClinicalEvent): Promise<void> {
  const res = await fetch(`${base}/events`, {
    method: 'POST',
    headers: headers('demo-integration-key'),
    body: JSON.stringify(event),
  });
  expect(res.status).toBe(202);
}
async function postHl7(message: string): Promise<{ status: number; ack: string[] }> {
  const res = await fetch(`${base}/hl7/v2`, {
    method: 'POST',
    headers: headers('demo-integration-key', 'x-application/hl7-v2+er7'),
    body: message,
  });
  return { status: res.status, ack: (await res.text()).split('\r') };
}
/** Registration and a wide excision: the pathway awaits the pathology result. */
function operated(mrn: string): ClinicalEvent[] {
  return [
    clinicalEvent(`${mrn}-reg`, mrn, 'patient.registered', '2025-05-01T09:00:00Z', {
      primarySite: 'thigh',
      diagnosisDate: '2025-04-20',
      careTeam: 'sarcoma-north',
    }),
    clinicalEvent(`${mrn}-surgery`, mrn, 'surgery.performed', '2025-06-01T09:00:00Z', {
      procedure: 'wide-excision',
      performedAt: '2025-06-01T09:00:00Z',
    }),
  ];
}
const pathwayOf = async (mrn: string) =>
  (await db.pool.query<{ pathway: string }>('SELECT pathway FROM patients WHERE patient_id = $1', [mrn])).rows[0]
    ?.pathway;
const openTasks = async (mrn: string) =>
  (
    await db.pool.query<{ type: string; rule_id: string }>(
      `SELECT type, rule_id FROM tasks WHERE patient_id = $1 AND status NOT IN ('completed', 'cancelled') ORDER BY type, rule_id`,
      [mrn],
    )
  ).rows.map((t) => `${t.type}/${t.rule_id}`);

describe('HL7 v2 over HTTP', () => {
  const combinations: [Margin, FnclccGrade, 'superficial' | 'deep'][] = [];
  for (const margin of ['R0', 'R1', 'R2'] as Margin[])
    for (const grade of [1, 2, 3] as FnclccGrade[])
      for (const depth of ['superficial', 'deep'] as const) combinations.push([margin, grade, depth]);

  it('every margin × grade × depth answer is acknowledged AA and ends where the pathway rules say', async () => {
    const pathway = createPathway();
    const expected: Record<string, { state: string }> = {};
    for (const [i, [margin, grade, depth]] of combinations.entries()) {
      const mrn = `MRN-HL7-${i}`;
      for (const event of operated(mrn)) await postEvent(event);
      await eventsLogged(db.pool, [`${mrn}-reg`, `${mrn}-surgery`]);
      const message = sarcomaOru({ controlId: `C${i}`, mrn, reportId: `SP-${i}`, margin, grade, depth, sizeCm: 8 });
      const { status, ack } = await postHl7(message);
      expect(status).toBe(200);
      expect(ack[1]).toBe(`MSA|AA|C${i}|`);
      // the pure pathway over the same events is the oracle
      let state = pathway.initialState();
      for (const event of [...operated(mrn), ...decideOru(parseHl7v2(message)).events])
        state = pathway.step(state, event).state;
      expected[mrn] = { state: state.pathway };
    }
    const ids = combinations.map((_, i) => `hl7.99D9999999.C${i}`);
    await eventsLogged(db.pool, ids);
    for (const mrn of Object.keys(expected))
      expect({ mrn, state: await pathwayOf(mrn) }).toEqual({ mrn, ...expected[mrn] });
    // spot checks against pathway-rules.md: R1 → re-excision review (R-MARGIN-R1), R2 the same (R-MARGIN-R2)
    expect(await openTasks('MRN-HL7-6')).toContain('re-excision-review/R-MARGIN-R1');
    expect(await openTasks('MRN-HL7-12')).toContain('re-excision-review/R-MARGIN-R2');
    expect(await pathwayOf('MRN-HL7-0')).toBe('surveillance'); // R0, grade 1, superficial: low risk
  });

  it('a resent message is a duplicate; a corrected report (OBR-25 C) supersedes the result (R-CORRECTED-REPORT)', async () => {
    const mrn = 'MRN-HL7-CORR';
    for (const event of operated(mrn)) await postEvent(event);
    const first = sarcomaOru({ controlId: 'CORR-1', mrn, reportId: 'SP-CORR', margin: 'R1', grade: 2, depth: 'deep' });
    expect((await postHl7(first)).ack[1]).toBe('MSA|AA|CORR-1|');
    expect((await postHl7(first)).ack[1]).toBe('MSA|AA|CORR-1|'); // the lab did not get our first ACK
    await eventsLogged(db.pool, ['hl7.99D9999999.CORR-1']);
    await waitFor(
      () => pathwayOf(mrn),
      (p) => p === 're-excision-review',
      { what: 'R1 acted on' },
    );
    const stored = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM inbound_messages WHERE control_id = 'CORR-1'`,
    );
    expect(stored.rows[0].n).toBe(2); // both receipts kept
    const logged = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM clinical_events WHERE patient_id = $1 AND type = 'pathology.reported'`,
      [mrn],
    );
    expect(logged.rows[0].n).toBe(1); // one result

    const corrected = sarcomaOru({
      controlId: 'CORR-2',
      mrn,
      reportId: 'SP-CORR',
      status: 'C',
      margin: 'R0',
      grade: 1,
      depth: 'superficial',
    });
    expect((await postHl7(corrected)).ack[1]).toBe('MSA|AA|CORR-2|');
    await waitFor(
      () => pathwayOf(mrn),
      (p) => p === 'surveillance',
      { what: 'the corrected R0 acted on' },
    );
    const timeline = await db.pool.query<{ effects: { kind: string }[] }>(
      `SELECT effects FROM clinical_events WHERE event_id = 'hl7.99D9999999.CORR-2'`,
    );
    expect(timeline.rows[0].effects.map((e) => e.kind)).toContain('supersede-report');
  });

  it('R-PATH-ABSTRACTION: a report without a coded margin is AE, kept, and a data-quality review is opened', async () => {
    const mrn = 'MRN-HL7-NARR';
    for (const event of operated(mrn)) await postEvent(event);
    const { ack } = await postHl7(sarcomaOru({ controlId: 'NARR-1', mrn, reportId: 'SP-NARR', margin: null }));
    expect(ack[1]).toMatch(/^MSA\|AE\|NARR-1\|report SP-NARR needs manual abstraction: margin not coded/);
    expect(ack[2]).toMatch(/^ERR\|\|OBR\^1\^OBX\|101\^Required field missing\^HL70357\|E\|/);
    await waitFor(
      () => openTasks(mrn),
      (t) => t.includes('data-quality-review/R-PATH-ABSTRACTION'),
      {
        what: 'the abstraction review',
      },
    );
    expect(await pathwayOf(mrn)).toBe('awaiting-pathology'); // nothing guessed
  });

  it('refuses what it cannot read with AR, and what is not text with 415', async () => {
    const { status, ack } = await postHl7('this is not HL7');
    expect(status).toBe(200);
    expect(ack[1]).toBe('MSA|AR||the message does not start with an MSH segment');
    const json = await fetch(`${base}/hl7/v2`, {
      method: 'POST',
      headers: headers('demo-integration-key'),
      body: '{}',
    });
    expect(json.status).toBe(415);
  });
});

describe('HL7 v2 over MLLP', () => {
  it('answers the six NAACCR samples on one connection, in order, each stored with the reason; none is a sarcoma result', async () => {
    const files = readdirSync(SAMPLES)
      .filter((f) => f.endsWith('.txt'))
      .sort();
    const client = await MllpClient.open(mllpPort);
    const before = (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM inbound_messages')).rows[0].n;
    // all six written at once: the listener must split the frames and answer in order
    const raws = files.map((f) => readFileSync(join(SAMPLES, f), 'utf8'));
    for (const raw of raws)
      client.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from(raw), Buffer.from([0x1c, 0x0d])]));
    const acks: string[][] = [];
    for (let i = 0; i < raws.length; i += 1) acks.push((await client.nextAck()).split('\r'));
    await client.close();
    for (const ack of acks) {
      expect(ack[0]).toMatch(/^MSH\|\^~\\&\|SARCOMA-PATHWAY\|/);
      expect(ack[1]).toMatch(/^MSA\|A[ER]\|\d+\|.{10,}/);
    }
    const stored = await db.pool.query<{ ack_code: string; reason: string; event_ids: string[]; raw: string }>(
      'SELECT ack_code, reason, event_ids, raw FROM inbound_messages WHERE id > $1 ORDER BY id',
      [before],
    );
    expect(stored.rows).toHaveLength(6);
    expect(stored.rows.map((r) => r.raw)).toEqual(raws);
    for (const row of stored.rows) expect(row.ack_code).toMatch(/^A[ER]$/);
    const reported = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM clinical_events WHERE event_id = ANY($1) AND type = 'pathology.reported'`,
      [stored.rows.flatMap((r) => r.event_ids)],
    );
    expect(reported.rows[0].n).toBe(0);
  });

  it('a half-sent message cut off by a disconnect is never acknowledged nor stored; the listener goes on', async () => {
    const before = (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM inbound_messages')).rows[0].n;
    const half = await MllpClient.open(mllpPort);
    const message = sarcomaOru({ controlId: 'HALF-1', mrn: 'MRN-HALF', reportId: 'SP-HALF' });
    half.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from(message.slice(0, 120))]));
    await new Promise((r) => setTimeout(r, 100));
    half.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect((await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM inbound_messages')).rows[0].n).toBe(
      before,
    );

    // the sender resends on a new connection: stored once, acknowledged
    const again = await MllpClient.open(mllpPort);
    const ack = await again.send(message);
    await again.close();
    expect(ack[1]).toBe('MSA|AA|HALF-1|');
    const stored = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM inbound_messages WHERE control_id = 'HALF-1'`,
    );
    expect(stored.rows[0].n).toBe(1);
  });

  it('leads see what was received and why it was refused; nobody else does', async () => {
    const res = await fetch(`${base}/hl7/v2/messages?refused=true`, { headers: headers('demo-lead-key') });
    const body = (await res.json()) as { items: { ackCode: string; reason: string; raw?: string }[]; total: number };
    expect(body.total).toBeGreaterThanOrEqual(6);
    expect(body.items.every((m) => m.ackCode === 'AE' || m.ackCode === 'AR')).toBe(true);
    expect(body.items.every((m) => m.raw === undefined)).toBe(true); // lists carry no patient data
    const navigator = await fetch(`${base}/hl7/v2/messages`, { headers: headers('demo-navigator-key') });
    expect(navigator.status).toBe(403);
  });
});

describe('FHIR R4 intake (POST /fhir)', () => {
  const postFhir = async (body: unknown) => {
    const res = await fetch(`${base}/fhir`, {
      method: 'POST',
      headers: headers('demo-integration-key', 'application/fhir+json'),
      body: JSON.stringify(body),
    });
    return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as any };
  };

  it('a DiagnosticReport bundle with coded observations becomes the result; resent, it is a duplicate', async () => {
    const mrn = 'MRN-FHIR-1';
    for (const event of operated(mrn)) await postEvent(event);
    const bundle = pathologyBundle({ mrn, reportId: 'SP-FHIR-1', margin: 'R1', grade: 3, depth: 'deep', sizeCm: 9 });
    const first = await postFhir(bundle);
    expect(first.status).toBe(200);
    expect(first.type).toMatch(/application\/fhir\+json/);
    expect(first.body).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [
        // the report number is hashed in the event id (event ids are logged): docs/interop.md
        {
          severity: 'information',
          diagnostics: expect.stringMatching(/^accepted as event fhir\.[0-9a-f]{16}\.final\./),
        },
      ],
    });
    expect((await postFhir(bundle)).status).toBe(200);
    await waitFor(
      () => pathwayOf(mrn),
      (p) => p === 're-excision-review',
      { what: 'the FHIR R1 result acted on' },
    );
    const results = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM clinical_events WHERE patient_id = $1 AND type = 'pathology.reported'`,
      [mrn],
    );
    expect(results.rows[0].n).toBe(1);

    // the round trip: the task the result opened, read back as a FHIR Task
    const search = await waitFor(
      async () =>
        (await (
          await fetch(`${base}/fhir/Task?patient=Patient/${mrn}&status=requested`, {
            headers: headers('demo-integration-key'),
          })
        ).json()) as any,
      (b) => (b.entry ?? []).some((e: any) => e.resource.code?.coding?.[0]?.code === 're-excision-review'),
      { what: 'the re-excision review as a FHIR Task' },
    );
    const task = search.entry.find((e: any) => e.resource.code.coding[0].code === 're-excision-review').resource;
    expect(task).toMatchObject({
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      priority: 'urgent',
      for: { reference: `Patient/${mrn}` },
      reasonCode: { coding: [{ code: 'R-MARGIN-R1' }] },
    });
  });

  it('a report without a coded margin is accepted with a warning and becomes a data-quality review', async () => {
    const mrn = 'MRN-FHIR-2';
    for (const event of operated(mrn)) await postEvent(event);
    const res = await postFhir(pathologyBundle({ mrn, reportId: 'SP-FHIR-2', margin: null }));
    expect(res.status).toBe(200);
    expect(res.body.issue).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          severity: 'warning',
          code: 'incomplete',
          diagnostics: expect.stringContaining('margin not coded'),
        }),
      ]),
    );
    await waitFor(
      () => openTasks(mrn),
      (t) => t.includes('data-quality-review/R-PATH-ABSTRACTION'),
      {
        what: 'the abstraction review',
      },
    );
  });

  it('nothing usable is 422 with an OperationOutcome naming each problem; every bundle is stored', async () => {
    const preliminary = await postFhir(
      pathologyBundle({ mrn: 'MRN-FHIR-3', reportId: 'SP-FHIR-3', status: 'preliminary' }),
    );
    expect(preliminary.status).toBe(422);
    expect(preliminary.body).toEqual({
      resourceType: 'OperationOutcome',
      issue: [
        expect.objectContaining({
          severity: 'error',
          code: 'business-rule',
          expression: ['Bundle.entry[1].resource.status'],
        }),
      ],
    });
    const notABundle = await postFhir({ resourceType: 'Patient' });
    expect(notABundle.status).toBe(422);
    expect(notABundle.body.issue[0]).toMatchObject({ code: 'structure' });
    const stored = await db.pool.query<{ ack_code: string }>(
      `SELECT ack_code FROM inbound_messages WHERE channel = 'fhir' ORDER BY id`,
    );
    expect(stored.rows.map((r) => r.ack_code)).toEqual(['AA', 'AA', 'AE', 'AR', 'AR']);
  });
});

describe('when the queue is down', () => {
  it('a message is stored but not acknowledged: MLLP closes without an ACK, HTTP answers 503; resent later, it goes through', async () => {
    const redis = await startOwnRedis();
    const prefix = uniquePrefix('hl7-down');
    const own = await createApiApp({
      config: { DATABASE_URL: db.url, REDIS_URL: redis.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'error' },
    });
    await own.listen(0, '127.0.0.1');
    try {
      const message = sarcomaOru({ controlId: 'DOWN-1', mrn: 'MRN-DOWN', reportId: 'SP-DOWN' });
      await redis.stop();
      const client = await MllpClient.open(own.get(MllpListener).port());
      // the publisher's give-up time depends on the machine's load: the test waits for the close, not a clock
      await expect(client.send(message, 30_000)).rejects.toThrow('no ACK: the connection was closed');
      expect(client.closed).toBe(true);
      const http = await fetch(`${await own.getUrl()}/hl7/v2`, {
        method: 'POST',
        headers: headers('demo-integration-key', 'x-application/hl7-v2+er7'),
        body: message,
      });
      expect(http.status).toBe(503);
      const stored = await db.pool.query<{ ack_code: string; reason: string }>(
        `SELECT ack_code, reason FROM inbound_messages WHERE control_id = 'DOWN-1' ORDER BY id`,
      );
      expect(stored.rows).toEqual([
        { ack_code: 'AE', reason: 'not acknowledged: the event queue was unavailable' },
        { ack_code: 'AE', reason: 'not acknowledged: the event queue was unavailable' },
      ]);
    } finally {
      // closed while Redis is still down: the shutdown must complete (and the process exit) all the same
      await own.close();
    }
    // the sender resends to the running service: acknowledged and applied
    expect((await postHl7(sarcomaOru({ controlId: 'DOWN-1', mrn: 'MRN-DOWN', reportId: 'SP-DOWN' }))).ack[1]).toBe(
      'MSA|AA|DOWN-1|',
    );
    await eventsLogged(db.pool, ['hl7.99D9999999.DOWN-1']);
  });
});
