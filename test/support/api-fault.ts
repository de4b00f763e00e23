/**
 * The api-kill fault's tools (test/faults/api-kill.fault-spec.ts): the api as an OS process to kill (compiled once per
 * source version, on fixed ports so that senders find it again), the fault stream as an integration engine sends it
 * (JSON clinical events over HTTP, pathology results as HL7 v2 ORU^R01 over MLLP), senders that resend what was not
 * acknowledged, and the clean reference of that stream.
 *
 * Why the stream is not quite faultStream(): an HL7 v2 result cannot carry the cohort's event id, source or
 * correlation id. The intake names the event after the message (`hl7.<facility>.<MSH-10>`, source `hl7v2 <facility>`)
 * and keeps whole seconds of the report's time. The report itself (patient, report id, status, margin, grade, size,
 * depth, histology, closest margin) goes through unchanged: mixedStream() checks it for every message. So the events
 * sent over MLLP are, in the stream and in its reference run, the events the intake makes of them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join, relative } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Pool } from 'pg';
import { validateClinicalEvent, type ClinicalEvent, type PayloadByType } from '@app/contracts';
import { decideOru, parseHl7v2 } from '@app/interop';
import { compileOnce } from './compile-once';
import { ApiKeyStore } from '@app/store';
import { sarcomaOru } from '../../libs/interop/src/hl7v2/testing';
import { Cleanup, RESULTS_DIR, sleep, tolerantQuery, type FaultEnv } from './faults';

const ROOT = join(__dirname, '..', '..');

/** Files under these folders (of the repository), sorted, without unit tests. */
function filesUnder(dirs: string[], keep: (name: string) => boolean = () => true): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (!entry.name.endsWith('.spec.ts') && keep(entry.name)) files.push(path);
    }
  };
  for (const dir of dirs) walk(join(ROOT, dir));
  return files;
}

function digestOf(files: string[], extra = ''): string {
  const hash = createHash('sha256');
  for (const file of files) hash.update(relative(ROOT, file)).update(readFileSync(file));
  return hash.update(extra).digest('hex').slice(0, 16);
}

function pruneResults(stale: (name: string) => boolean): void {
  for (const name of readdirSync(RESULTS_DIR))
    if (stale(name)) rmSync(join(RESULTS_DIR, name), { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------------------
// the api as an OS process

/**
 * The api compiled to JavaScript once per source version (var/faults/api-<digest>/), file by file as compiledWorker()
 * does for the worker: a killed api is back in a second or two, not the many seconds ts-node takes to start it.
 */
let compiled: string | null = null;

export function compiledApi(): string {
  if (compiled && existsSync(compiled)) return compiled;
  const files = filesUnder(['libs', 'apps/api/src']);
  const out = join(RESULTS_DIR, `api-${digestOf(files)}`);
  compiled = out;
  if (existsSync(join(out, 'apps/api/src/main.js'))) return out;
  // what `npm run build` copies next to the compiled code: the migrations, the worklist page
  compileOnce(out, files, ['libs/store/migrations', 'apps/api/src/web/public']);
  pruneResults((name) => /^api-[0-9a-f]{16}$/.test(name) && join(RESULTS_DIR, name) !== out);
  return out;
}

export interface ApiPorts {
  http: number;
  mllp: number;
}

/** Whether nothing listens on this port now (bound, then released). */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    // every interface, as the api's HTTP listener binds
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

/**
 * Two free ports below the kernel's ephemeral range: while the api is down, no outgoing connection of this machine
 * can be given one of them, so the api started again can listen where the senders expect it.
 */
export async function apiPorts(): Promise<ApiPorts> {
  let low = 32_768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // not Linux: the usual range
  }
  // and below 20,000, where the suite's own redis-servers take theirs (startOwnRedis: 20,000-40,000)
  const top = Math.min(low, 20_000);
  const floor = Math.max(1024, top - 10_000);
  const ports: number[] = [];
  for (let tries = 0; ports.length < 2; tries += 1) {
    if (tries > 200) throw new Error(`no free port between ${floor} and ${top}`);
    const port = floor + Math.floor(Math.random() * (top - floor));
    if (!ports.includes(port) && (await portIsFree(port))) ports.push(port);
  }
  return { http: ports[0], mllp: ports[1] };
}

export interface SpawnedApi {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly base: string;
  /** The last 64 kB of its output. */
  output(): string;
  /** Resolves once GET /health answers (it listens on HTTP after MLLP). */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGKILL: no shutdown hook, requests and MLLP messages in progress cut off. Resolves when it is gone. */
  kill(): Promise<void>;
}

/**
 * apps/api/src/main.ts as deployed (migrate, then listen), compiled by compiledApi(), on the fault env's database,
 * Redis and queue prefix and on fixed ports: an api started again after a kill is where the senders left it. It
 * needs no fault clock: it stamps nothing the comparison reads (an event's times are the event's own). No intake
 * rate limit (a stream of 20,000 events from one key would pass the default's 6,000 a minute) and no signatures.
 */
export function spawnFaultApi(env: FaultEnv, cleanup: Cleanup, ports: ApiPorts): SpawnedApi {
  const build = compiledApi();
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    TS_NODE_BASEURL: build,
    DATABASE_URL: env.db.url,
    REDIS_URL: env.redisUrl,
    QUEUE_PREFIX: env.prefix,
    PORT: String(ports.http),
    MLLP_PORT: String(ports.mllp),
    MLLP_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    INTAKE_RATE_LIMIT: '0',
  };
  delete childEnv.INTAKE_HMAC_SECRET;
  const child = spawn(process.execPath, ['-r', 'tsconfig-paths/register', join(build, 'apps/api/src/main.js')], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  for (const stream of [child.stdout, child.stderr])
    stream?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-65_536)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const kill = async () => {
    if (!gone()) child.kill('SIGKILL');
    await exited;
  };
  cleanup.add(`api process ${child.pid}`, kill);
  const base = `http://127.0.0.1:${ports.http}`;
  return {
    child,
    pid: child.pid!,
    base,
    output: () => output,
    ready: async (timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (gone()) throw new Error(`the api process exited before it listened:\n${output}`);
        const up = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) }).then(
          (r) => r.ok,
          () => false,
        );
        if (up) return;
        if (Date.now() > deadline) throw new Error(`the api did not answer /health in ${timeoutMs} ms:\n${output}`);
        await sleep(50);
      }
    },
    kill,
  };
}

/** The integration key the senders use (stored hashed, as any key). */
export const FAULT_INTEGRATION_KEY = 'fault-suite-integration-key';

export async function seedIntegrationKey(pool: Pool): Promise<void> {
  await new ApiKeyStore(pool).ensureKey({
    secret: FAULT_INTEGRATION_KEY,
    role: 'integration',
    label: 'fault suite: intake sender',
  });
}

// ---------------------------------------------------------------------------------------------------------------
// the stream as sent: JSON over HTTP, pathology results as HL7 v2 over MLLP

export interface IntakeMessage {
  channel: 'http' | 'mllp';
  /** The event the service makes of it (what the reference run is given). */
  event: ClinicalEvent;
  /** What goes on the wire: the event's JSON, or the HL7 v2 message. */
  body: string;
}

/** An ISO instant as HL7 v2 DTM, in UTC with milliseconds, as a lab sends it. */
function hl7Time(iso: string): string {
  const d = new Date(iso);
  const p = (n: number, width = 2) => String(n).padStart(width, '0');
  return (
    `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}+0000`
  );
}

/** A cohort pathology result as the lab's ORU^R01 (MSH-10 = the cohort's event id), and the event intake makes of it. */
function viaHl7(event: ClinicalEvent): IntakeMessage {
  const report = event.payload as PayloadByType['pathology.reported'];
  const body = sarcomaOru({
    controlId: event.eventId,
    mrn: event.patientId,
    reportId: report.reportId,
    status: report.status === 'corrected' ? 'C' : 'F',
    margin: report.margin,
    grade: report.grade,
    depth: report.depth,
    sizeCm: report.sizeCm,
    closestMarginMm: report.closestMarginMm,
    histology: report.histology,
    reportedAt: hl7Time(event.occurredAt),
  });
  // what apps/api/src/interop/hl7-intake.ts does with it
  const decision = decideOru(parseHl7v2(body), { defaultUtcOffset: '+00:00', patientIdTypes: ['MR', 'PI'] });
  if (decision.ack !== 'AA' || decision.events.length !== 1)
    throw new Error(`event ${event.eventId} does not map back from HL7 v2: ${decision.ack} ${decision.text}`);
  const checked = validateClinicalEvent(decision.events[0]);
  if (!checked.ok) throw new Error(`event ${event.eventId} from HL7 v2 fails the contract: ${JSON.stringify(checked)}`);
  const mapped = checked.event;
  const sameReport =
    mapped.type === event.type &&
    mapped.patientId === event.patientId &&
    isDeepStrictEqual(mapped.payload, event.payload) &&
    Date.parse(mapped.occurredAt) === Math.floor(Date.parse(event.occurredAt) / 1000) * 1000;
  if (!sameReport)
    throw new Error(`HL7 v2 changes event ${event.eventId}: ${JSON.stringify(event)} -> ${JSON.stringify(mapped)}`);
  return { channel: 'mllp', event: mapped, body };
}

/**
 * The stream as an integration engine sends it: every pathology result (`pathology.reported`, the only event type HL7
 * v2 intake takes: ORU^R01) as HL7 v2 over MLLP, every other event as JSON over HTTP POST /events. `stream` is the
 * events the service makes of them, in the same order.
 */
export function mixedStream(events: ClinicalEvent[]): { stream: ClinicalEvent[]; messages: IntakeMessage[] } {
  const messages = events.map((event): IntakeMessage =>
    event.type === 'pathology.reported' ? viaHl7(event) : { channel: 'http', event, body: JSON.stringify(event) },
  );
  return { stream: messages.map((m) => m.event), messages };
}

// ---------------------------------------------------------------------------------------------------------------
// MLLP: one connection, one message at a time, and a connection that closes before the ACK says so at once

const MLLP_START = 0x0b;
const MLLP_END = Buffer.from([0x1c, 0x0d]);

class MllpLink {
  private buffer = Buffer.alloc(0);
  private waiter: { resolve(ack: string): void; reject(err: Error): void } | null = null;
  dead = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      const end = this.buffer.indexOf(MLLP_END);
      if (end < 0) return;
      const ack = this.buffer.subarray(this.buffer.indexOf(MLLP_START) + 1, end).toString('utf8');
      this.buffer = this.buffer.subarray(end + 2);
      const waiter = this.waiter;
      this.waiter = null;
      waiter?.resolve(ack);
    });
    const fail = (err?: Error) => {
      this.dead = true;
      const waiter = this.waiter;
      this.waiter = null;
      waiter?.reject(err ?? new Error('the connection closed before the ACK'));
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
  }

  /** Rejects with the connect error (ECONNREFUSED while the api is down). */
  static open(port: number): Promise<MllpLink> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new MllpLink(socket));
      });
    });
  }

  /** Sends one framed message; resolves with its ACK, rejects when the connection ends first or after timeoutMs. */
  send(message: string, timeoutMs: number): Promise<string> {
    if (this.dead) return Promise.reject(new Error('the connection is closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        this.destroy();
        reject(new Error(`no ACK in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (ack) => {
          clearTimeout(timer);
          resolve(ack);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.socket.write(Buffer.concat([Buffer.from([MLLP_START]), Buffer.from(message, 'utf8'), MLLP_END]));
    });
  }

  destroy(): void {
    this.dead = true;
    this.socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the senders

/** What one attempt came to. `refused`: no connection (the api is down, or its connection died), nothing was sent. */
type AttemptResult = 'acked' | 'refused' | 'no-ack';

/** The service refused a message for a reason resending cannot cure: the test is wrong, not the fault. */
class SenderError extends Error {}

export interface MessageRecord {
  message: IntakeMessage;
  attempts: number;
  /** Attempts refused at connect: the api was down, nothing was sent. */
  refused: number;
  /** Attempts sent that got no acknowledgement (connection reset or closed, no answer, a 5xx). */
  noAck: number;
  /** An attempt that got no acknowledgement had in fact been queued: the resend was a duplicate, dropped. */
  dedupHit: boolean;
  ackedAt: number | null;
}

export interface SenderOptions {
  ports: ApiPorts;
  key: string;
  lanes: number;
  /** Whether an event is already queued or logged (asked before resending a message that got no ACK). */
  landed(eventId: string): Promise<boolean>;
  /** The longest wait between two attempts (from 100 ms, doubling); a real engine waits longer. */
  retryMs?: number;
  /** Per attempt. */
  timeoutMs?: number;
  /** A message still not acknowledged after this long fails the run. */
  giveUpMs?: number;
}

/**
 * Several senders at once (`lanes`), as integration engines: each patient's messages go through one lane, one at a
 * time, the next only once the previous is acknowledged (HTTP 202, MLLP ACK with MSA-1 AA), so a patient's events
 * reach the queue in clinical order. A message that gets no acknowledgement is sent again, the same bytes, until
 * one comes: that is all a sender can do, and the service must make it safe.
 */
export class IntakeSender {
  readonly records: MessageRecord[];
  /** Attempts under way. */
  inFlight = 0;
  /** Of which HL7 v2 over MLLP. */
  inFlightMllp = 0;
  acked = 0;
  /** Date.now() of each acknowledgement, in order. */
  readonly ackTimes: number[] = [];
  error: Error | null = null;
  private stopped = false;
  private readonly ackedIds: string[] = [];

  constructor(
    messages: IntakeMessage[],
    private readonly options: SenderOptions,
  ) {
    this.records = messages.map((message) => ({
      message,
      attempts: 0,
      refused: 0,
      noAck: 0,
      dedupHit: false,
      ackedAt: null,
    }));
  }

  /** Sends everything; resolves when every message is acknowledged. */
  async run(): Promise<void> {
    const lanes: MessageRecord[][] = Array.from({ length: this.options.lanes }, () => []);
    const laneOf = new Map<string, number>();
    for (const record of this.records) {
      const patient = record.message.event.patientId;
      if (!laneOf.has(patient)) laneOf.set(patient, laneOf.size % lanes.length);
      lanes[laneOf.get(patient)!].push(record);
    }
    try {
      await Promise.all(lanes.map((lane) => this.runLane(lane)));
    } catch (err) {
      this.error ??= err as Error;
      throw err;
    }
  }

  /** Stops every lane at its next attempt (a failed test's clean-up). */
  stop(): void {
    this.stopped = true;
  }

  /** Event ids acknowledged so far. */
  acknowledged(): string[] {
    return [...this.ackedIds];
  }

  /** The first acknowledgement at or after `at` (Date.now()), or null. */
  firstAckSince(at: number): number | null {
    return this.ackTimes.find((t) => t >= at) ?? null;
  }

  private async runLane(records: MessageRecord[]): Promise<void> {
    let link: MllpLink | null = null;
    try {
      for (const record of records) {
        if (this.error || this.stopped) return;
        const started = Date.now();
        let unanswered = false;
        for (;;) {
          if (this.stopped) return;
          // before a resend: had the attempt that got no ACK been queued after all?
          if (unanswered) record.dedupHit ||= await this.options.landed(record.message.event.eventId);
          record.attempts += 1;
          const mllp = record.message.channel === 'mllp';
          this.inFlight += 1;
          if (mllp) this.inFlightMllp += 1;
          let result: AttemptResult;
          try {
            if (!mllp) result = await this.post(record.message);
            else {
              if (!link || link.dead) {
                try {
                  link = await MllpLink.open(this.options.ports.mllp);
                } catch {
                  link = null;
                }
              }
              result = link ? await this.sendHl7(link, record.message) : 'refused';
            }
          } finally {
            this.inFlight -= 1;
            if (mllp) this.inFlightMllp -= 1;
          }
          if (result === 'acked') break;
          if (result === 'refused') record.refused += 1;
          else record.noAck += 1;
          unanswered = result === 'no-ack';
          if (Date.now() - started > (this.options.giveUpMs ?? 120_000))
            throw new SenderError(
              `event ${record.message.event.eventId} not acknowledged in ${record.attempts} attempts`,
            );
          await sleep(Math.min(this.options.retryMs ?? 250, 50 * 2 ** Math.min(record.attempts, 8)));
        }
        const now = Date.now();
        record.ackedAt = now;
        this.acked += 1;
        this.ackTimes.push(now);
        this.ackedIds.push(record.message.event.eventId);
      }
    } catch (err) {
      this.error ??= err as Error;
      throw err;
    } finally {
      link?.destroy();
    }
  }

  private async post(message: IntakeMessage): Promise<AttemptResult> {
    let response: Response;
    try {
      response = await fetch(`http://127.0.0.1:${this.options.ports.http}/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.options.key}`, 'content-type': 'application/json' },
        body: message.body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 15_000),
      });
    } catch (err) {
      const code = ((err as Error & { cause?: { code?: string } }).cause ?? {}).code;
      return code === 'ECONNREFUSED' ? 'refused' : 'no-ack';
    }
    // the status line is the acknowledgement; the body may be cut off by a kill just after it
    const text = await response.text().catch(() => '');
    if (response.status === 202) return 'acked';
    if (response.status >= 500 || response.status === 429) return 'no-ack';
    throw new SenderError(`POST /events ${message.event.eventId}: ${response.status} ${text.slice(0, 300)}`);
  }

  private async sendHl7(link: MllpLink, message: IntakeMessage): Promise<AttemptResult> {
    if (link.dead) return 'refused'; // closed by a kill since it was opened: nothing sent on it
    let ack: string;
    try {
      ack = await link.send(message.body, this.options.timeoutMs ?? 15_000);
    } catch {
      return 'no-ack';
    }
    const msa =
      ack
        .split(/\r|\n/)
        .find((segment) => segment.startsWith('MSA|'))
        ?.split('|') ?? [];
    if (msa[1] === 'AA') return 'acked';
    throw new SenderError(`HL7 v2 ${message.event.eventId} answered ${msa[1] ?? 'without MSA'}: ${ack.slice(0, 300)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// what the service holds

/** Whether an event is queued (a job under its id, in any state: jobs are kept after completion) or logged. */
export async function landed(env: FaultEnv, eventId: string): Promise<boolean> {
  if (await env.publisher.queue.getJob(eventId)) return true;
  const rows = await tolerantQuery(env.db.pool, 'SELECT 1 FROM clinical_events WHERE event_id = $1', [eventId]);
  return rows.length > 0;
}

/**
 * Of these acknowledged events, those the service does not hold: neither logged nor queued. Anything here was
 * acknowledged before it was durable.
 */
export async function notHeld(env: FaultEnv, eventIds: string[]): Promise<string[]> {
  const logged = new Set(
    (
      await tolerantQuery<{ event_id: string }>(
        env.db.pool,
        'SELECT event_id FROM clinical_events WHERE event_id = ANY($1)',
        [eventIds],
      )
    ).map((r) => r.event_id),
  );
  const rest = eventIds.filter((id) => !logged.has(id));
  const missing: string[] = [];
  for (let i = 0; i < rest.length; i += 200) {
    const chunk = rest.slice(i, i + 200);
    const jobs = await Promise.all(chunk.map((id) => env.publisher.queue.getJob(id)));
    chunk.forEach((id, j) => {
      if (!jobs[j]) missing.push(id);
    });
  }
  if (missing.length === 0) return missing;
  // a job may have completed (and been logged) between the two looks
  const late = new Set(
    (
      await tolerantQuery<{ event_id: string }>(
        env.db.pool,
        'SELECT event_id FROM clinical_events WHERE event_id = ANY($1)',
        [missing],
      )
    ).map((r) => r.event_id),
  );
  return missing.filter((id) => !late.has(id));
}

/** HL7 v2 messages stored by the intake, and those of them never answered (their api killed in between). */
export async function hl7Inbound(pool: Pool): Promise<{ stored: number; unanswered: number }> {
  const [row] = await tolerantQuery<{ stored: number; unanswered: number }>(
    pool,
    `SELECT count(*)::int AS stored, count(*) FILTER (WHERE answered_at IS NULL)::int AS unanswered
       FROM inbound_messages WHERE format = 'hl7v2'`,
  );
  return row;
}
