/**
 * Fault: the api dies without warning (SIGKILL) in the middle of intake, three times, and is started again. Sixteen
 * senders, as integration engines, send the stream meanwhile: every event as JSON over HTTP POST /events, every
 * pathology result as HL7 v2 ORU^R01 over MLLP (test/support/api-fault.ts: the only event type HL7 v2 intake takes),
 * one patient's messages one at a time, each once the previous was acknowledged. A message the kill cut off (the
 * connection reset or closed, no 202, no ACK) is sent again, the same bytes, once the api is back: a sender cannot
 * tell whether it was taken. What holds: every message acknowledged was held at that moment (queued or logged) and is
 * processed; one that was not acknowledged is safe to resend (it was queued or it was not; queued twice it is one
 * event); compared with the clean run of the same stream, nothing lost, nothing twice, nothing changed.
 */
import {
  compareWithReference,
  createFaultEnv,
  FAULT_EVENTS,
  faultRandom,
  faultStream,
  faultSuite,
  figuresOf,
  ownRedis,
  recordFigures,
  settle,
  sleep,
  startFaultWorker,
  tolerantQuery,
} from '../support/faults';
import {
  apiPorts,
  compiledApi,
  FAULT_INTEGRATION_KEY,
  hl7Inbound,
  IntakeSender,
  landed,
  mixedStream,
  notHeld,
  seedIntegrationKey,
  spawnFaultApi,
} from '../support/api-fault';

const mixed = mixedStream(faultStream());
const { events: stream, messages, cleanup, reference } = faultSuite({ events: mixed.stream, messages: mixed.messages });

beforeAll(() => compiledApi());

const KILLS = 3;
const LANES = 16;

interface Kill {
  /** Messages acknowledged when it was killed. */
  atAcked: number;
  /** Attempts under way (sent or being sent) when it was killed. */
  inFlight: number;
  /** Of which HL7 v2 over MLLP. */
  inFlightMllp: number;
  /**
   * Acknowledged before the kill and neither queued nor logged after it (and not already found at an earlier kill):
   * acknowledged before they were durable.
   */
  notHeld: string[];
  /** Kill to the new process answering /health, ms. */
  upMs: number;
  /** Kill to the first message the new process acknowledged, ms. */
  resumeMs: number;
}

it(`api SIGKILLed ${KILLS} times mid-intake (HTTP and MLLP), senders resend what got no ACK: all ${FAULT_EVENTS} events once`, async () => {
  const { seed, rnd } = faultRandom();
  const env = await createFaultEnv('api_kill', await ownRedis(cleanup), cleanup);
  await seedIntegrationKey(env.db.pool);
  const ports = await apiPorts();
  let api = spawnFaultApi(env, cleanup, ports);
  await api.ready();
  const worker = await startFaultWorker(env, cleanup);

  const sender = new IntakeSender(messages, {
    ports,
    key: FAULT_INTEGRATION_KEY,
    lanes: LANES,
    landed: (eventId) => landed(env, eventId),
  });
  cleanup.add('senders', async () => sender.stop());
  const started = Date.now();
  const sending = sender.run();
  sending.catch(() => undefined); // awaited below; the kill loop watches sender.error meanwhile

  const until = async (what: string, done: () => boolean, timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (sender.error) throw sender.error;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${api.output()}`);
      await sleep(5);
    }
  };

  // three moments, as shares of the messages acknowledged, at random between 10 % and 85 %
  const marks = Array.from({ length: KILLS }, () => 0.1 + rnd.next() * 0.75).sort((a, b) => a - b);
  const kills: Kill[] = [];
  let restartedAt = 0;
  for (const [i, mark] of marks.entries()) {
    // and never before the new process has taken a message: a kill in the middle of intake
    await until(
      `${Math.floor(mark * messages.length)} messages acknowledged`,
      () => sender.acked >= Math.floor(mark * messages.length) && sender.firstAckSince(restartedAt) !== null,
    );
    await sleep(rnd.int(0, 40));
    // HL7 v2 is 1 message in 20: the second kill waits (up to 5 s) for one to be under way, so MLLP is cut too
    if (i === 1) await until('an HL7 v2 message under way', () => sender.inFlightMllp > 0, 5000).catch(() => undefined);
    const atAcked = sender.acked;
    const inFlight = sender.inFlight;
    const inFlightMllp = sender.inFlightMllp;
    const killedAt = Date.now();
    await api.kill();
    const acknowledged = sender.acknowledged();
    restartedAt = Date.now();
    api = spawnFaultApi(env, cleanup, ports);
    // while it starts: was everything acknowledged so far durable? (the killed process can add nothing now)
    const missing = (await notHeld(env, acknowledged)).filter((id) => !kills.some((k) => k.notHeld.includes(id)));
    await api.ready();
    const upMs = Date.now() - killedAt;
    await until('an acknowledgement from the restarted api', () => sender.firstAckSince(restartedAt) !== null);
    kills.push({
      atAcked,
      inFlight,
      inFlightMllp,
      notHeld: missing,
      upMs,
      resumeMs: sender.firstAckSince(restartedAt)! - killedAt,
    });
  }
  await sending;
  const intakeSeconds = (Date.now() - started) / 1000;
  // acknowledged, then neither queued nor logged: gone for good (the sender will not send it again), so say so now
  // rather than wait for settle() to time out on the events that will never come
  const lostAcked = kills.flatMap((k) => k.notHeld);
  if (lostAcked.length > 0)
    throw new Error(
      `${lostAcked.length} messages were acknowledged and then neither queued nor logged after a kill (acknowledged ` +
        `before they were durable): ${lostAcked.slice(0, 10).join(', ')}`,
    );

  await settle(env, stream.length);
  const seconds = (Date.now() - started) / 1000;
  const verdict = await compareWithReference(env, reference());
  const acknowledged = sender.acknowledged();
  const [{ n: ackedInLog }] = await tolerantQuery<{ n: number }>(
    env.db.pool,
    'SELECT count(*)::int AS n FROM clinical_events WHERE event_id = ANY($1)',
    [acknowledged],
  );
  const hl7 = await hl7Inbound(env.db.pool);
  await worker.close();

  const records = sender.records;
  const resent = records.filter((r) => r.noAck > 0);
  const dedupHits = resent.filter((r) => r.dedupHit).length;
  const notHeldTotal = kills.reduce((a, k) => a + k.notHeld.length, 0);
  const byChannel = (channel: string) => records.filter((r) => r.message.channel === channel);
  const extra = {
    acknowledged: acknowledged.length,
    acknowledgedHttp: byChannel('http').filter((r) => r.ackedAt !== null).length,
    acknowledgedMllp: byChannel('mllp').filter((r) => r.ackedAt !== null).length,
    resentAfterNoAck: resent.length,
    resentMllp: resent.filter((r) => r.message.channel === 'mllp').length,
    dedupHits,
    refusedAttempts: records.reduce((a, r) => a + r.refused, 0),
    ackedNotHeld: notHeldTotal,
    ackedMissingFromLog: acknowledged.length - ackedInLog,
    intakeSeconds,
  };
  const figures = {
    ...figuresOf('api SIGKILL mid-intake (HTTP + MLLP), senders resend without ACK', verdict, {
      events: stream.length,
      injected: kills.length,
      survived: kills.filter((k) => k.notHeld.length === 0).length,
      emails: env.sink.total,
      emailsResent: verdict.emails.resent,
      recoverMs: Math.max(...kills.map((k) => k.resumeMs)),
      seconds,
      notes:
        `seed ${seed}; ${LANES} senders; ${extra.acknowledgedHttp} over HTTP, ${extra.acknowledgedMllp} HL7 v2 over MLLP; ` +
        `kills at ${kills.map((k) => `${k.atAcked} acked (${k.inFlight} in flight, ${k.inFlightMllp} of them MLLP; up again ${k.upMs} ms, first ACK ${k.resumeMs} ms)`).join(', ')}; ` +
        `resent after no ACK ${resent.length} (${extra.resentMllp} MLLP), of which already queued ${dedupHits}; ` +
        `${extra.refusedAttempts} attempts not sent (no connection while it was down); HL7 stored ${hl7.stored}, never answered ${hl7.unanswered}; ` +
        `intake ${intakeSeconds} s; worker errors logged: ${worker.logs.errors}`,
    }),
    ...extra,
  };
  recordFigures(figures);

  expect(kills.length).toBe(KILLS);
  // the kills cut messages off: some senders had to resend without knowing
  expect(resent.length).toBeGreaterThan(0);
  // every message was acknowledged in the end, and everything acknowledged was durable when it was
  expect(acknowledged.length).toBe(messages.length);
  expect(extra.ackedMissingFromLog).toBe(0);
  expect({
    lost: verdict.lost,
    duplicated: verdict.duplicated,
    changed: verdict.changed,
    reorderedPatients: verdict.reorderedPatients,
    examples: verdict.examples,
  }).toEqual({ lost: 0, duplicated: 0, changed: 0, reorderedPatients: 0, examples: [] });
});
