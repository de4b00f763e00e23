/**
 * Shared by the queue benchmarks (the event door's `pathway-throughput`, and `backfill`): workloads from the
 * synthetic cohort, scratch databases, the naive baseline worker (one transaction per event, no service code),
 * the bare BullMQ ceiling, and the CPU each process used (to say what a run was limited by).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { Queue, Worker, type Job } from 'bullmq';
import { Client, type Pool } from 'pg';
import { chronological, generateCohort, recentHistories, SeededRandom } from '@app/cohort';
import { CLINICAL_EVENTS_QUEUE, type ClinicalEvent } from '@app/contracts';
import { redisConnection } from '@app/platform';
import { ensureDatabase } from '@app/store';
import { PG_BASE_URL } from './bench-env';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Throughput {
  events: number;
  seconds: number;
  perSecond: number;
}

/** Many patients, each patient's events in clinical order, patients interleaved round-robin. */
export function roundRobin(patients: number, events: number, seed: number, idPrefix: string): ClinicalEvent[] {
  const cohort = generateCohort({ patients, seed, idPrefix });
  const out: ClinicalEvent[] = [];
  for (let round = 0; out.length < events; round += 1) {
    let any = false;
    for (const p of cohort) {
      if (round < p.events.length) {
        out.push(p.events[round]);
        any = true;
        if (out.length === events) break;
      }
    }
    if (!any) break;
  }
  return out;
}

const RECENT_DAYS = 90;

/**
 * A network's history as a backfill sends it: each patient's first `perPatient` events (their journey so far),
 * moved in time so each patient's last event falls in the last RECENT_DAYS before today (an export up to today,
 * not patients all lost to follow-up years ago, which would make the first sweep open an order for nearly every
 * patient), all patients' events in clinical time order. Generated 10,000 patients at a time to keep memory flat.
 */
export function history(patients: number, perPatient: number, seed: number, idPrefix: string): ClinicalEvent[] {
  const now = Date.now();
  const rnd = new SeededRandom(seed);
  const chunks: ClinicalEvent[][] = [];
  for (let from = 0; from < patients; from += 10_000) {
    const cohort = generateCohort({
      patients: Math.min(10_000, patients - from),
      seed: seed + from,
      idPrefix: `${idPrefix}${from / 10_000}`,
    });
    chunks.push(chronological(recentHistories(cohort, perPatient, now, RECENT_DAYS, rnd)));
  }
  return chunks.length === 1 ? chunks[0] : mergeByTime(chunks);
}

function mergeByTime(chunks: ClinicalEvent[][]): ClinicalEvent[] {
  const all = chunks.flat();
  // a stable sort keeps each patient's own order for events at the same instant
  return all.sort((a, b) => (a.occurredAt < b.occurredAt ? -1 : a.occurredAt > b.occurredAt ? 1 : 0));
}

/**
 * Backfill batches as a history export sends them: whole patients (each patient's events in order, never split
 * across batches) packed until a batch holds about `size` events. Batches then share no patient, so any number
 * of worker processes can apply them at once without one patient's events racing each other.
 */
export function patientBatches(events: ClinicalEvent[], size: number): ClinicalEvent[][] {
  const byPatient = new Map<string, ClinicalEvent[]>();
  for (const event of events) {
    const list = byPatient.get(event.patientId);
    if (list) list.push(event);
    else byPatient.set(event.patientId, [event]);
  }
  const batches: ClinicalEvent[][] = [];
  let current: ClinicalEvent[] = [];
  for (const list of byPatient.values()) {
    if (current.length > 0 && current.length + list.length > size) {
      batches.push(current);
      current = [];
    }
    current.push(...list);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export async function freshDatabase(name: string): Promise<string> {
  const admin = new Client({ connectionString: `${PG_BASE_URL}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
  const url = `${PG_BASE_URL}/${name}`;
  await ensureDatabase(url);
  return url;
}

export async function dropDatabase(name: string): Promise<void> {
  const admin = new Client({ connectionString: `${PG_BASE_URL}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}

export function benchQueue(name: string, prefix: string): Queue {
  return new Queue(name, { connection: redisConnection(REDIS_URL, 'worker'), prefix });
}

/** Completed jobs are kept during a bench: their timestamps give the latencies. */
export function keep<T extends { opts: object }>(job: T): T {
  return { ...job, opts: { ...job.opts, removeOnComplete: false } };
}

export async function waitDrained(queue: Queue, total: number, started: number): Promise<Throughput> {
  for (;;) {
    const counts = await queue.getJobCounts('completed', 'failed');
    if (counts.completed + counts.failed >= total) {
      const seconds = (Date.now() - started) / 1000;
      if (counts.failed > 0) console.warn(`  (${counts.failed} jobs failed)`);
      return { events: total, seconds, perSecond: total / seconds };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- the naive baseline: one transaction per event, the same shape as the door's, no service code ----
export const BASELINE_SCHEMA = `
CREATE TABLE IF NOT EXISTS log (event_id text PRIMARY KEY, patient_id text NOT NULL, body jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS patient (patient_id text PRIMARY KEY, version int NOT NULL DEFAULT 0, state jsonb);
CREATE TABLE IF NOT EXISTS effect (id bigserial PRIMARY KEY, event_id text NOT NULL, body jsonb NOT NULL);`;

export function baselineWorker(pool: Pool, prefix: string, concurrency: number): Worker {
  return new Worker(
    CLINICAL_EVENTS_QUEUE,
    async (job: Job<ClinicalEvent>) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const inserted = await client.query('INSERT INTO log VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
          job.data.eventId,
          job.data.patientId,
          job.data,
        ]);
        if (inserted.rowCount === 1) {
          await client.query(
            `INSERT INTO patient (patient_id, version, state) VALUES ($1, 1, $2)
             ON CONFLICT (patient_id) DO UPDATE SET version = patient.version + 1, state = EXCLUDED.state`,
            [job.data.patientId, { last: job.data.type }],
          );
          await client.query('INSERT INTO effect (event_id, body) VALUES ($1, $2)', [
            job.data.eventId,
            { type: job.data.type },
          ]);
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      } finally {
        client.release();
      }
    },
    { connection: redisConnection(REDIS_URL, 'worker'), prefix, concurrency, autorun: true },
  );
}

/** The bare BullMQ ceiling: a worker that does nothing with each job. */
export function noOpWorker(prefix: string, concurrency: number): Worker {
  return new Worker(CLINICAL_EVENTS_QUEUE, async () => undefined, {
    connection: redisConnection(REDIS_URL, 'worker'),
    prefix,
    concurrency,
    autorun: true,
  });
}

// ---- CPU per process, from /proc (Linux): what a run was limited by ----
const TICKS_PER_SECOND = 100;

export interface CpuSample {
  /** pid -> [comm, cpu seconds used so far] */
  byPid: Map<number, [string, number]>;
  at: number;
}

export function sampleCpu(): CpuSample {
  const byPid = new Map<number, [string, number]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat
        .slice(close + 2)
        .split(' ')
        .map(Number);
      // fields[11], fields[12]: utime, stime (the 14th and 15th fields of the whole line)
      byPid.set(Number(entry), [comm, (fields[11] + fields[12]) / TICKS_PER_SECOND]);
    } catch {
      // the process ended between readdir and read
    }
  }
  return { byPid, at: Date.now() };
}

/** Cores used per group over the interval: postgres, redis, the worker processes, this bench process. */
export function coresUsed(
  before: CpuSample,
  after: CpuSample,
  workerPids: number[],
): { postgres: number; redis: number; workers: number; bench: number } {
  const seconds = (after.at - before.at) / 1000;
  const used = (pid: number) => {
    const end = after.byPid.get(pid)?.[1] ?? before.byPid.get(pid)?.[1] ?? 0;
    return end - (before.byPid.get(pid)?.[1] ?? 0);
  };
  const sum = (match: (pid: number, comm: string) => boolean) => {
    let total = 0;
    const pids = new Set([...before.byPid.keys(), ...after.byPid.keys()]);
    for (const pid of pids) {
      const comm = after.byPid.get(pid)?.[0] ?? before.byPid.get(pid)?.[0] ?? '';
      if (match(pid, comm)) total += used(pid);
    }
    return total / seconds;
  };
  return {
    postgres: sum((_, comm) => comm === 'postgres'),
    redis: sum((_, comm) => comm.startsWith('redis-server')),
    workers: sum((pid) => workerPids.includes(pid)),
    bench: sum((pid) => pid === process.pid),
  };
}

/** Resident memory of a process in MB (VmRSS), or 0 once it has gone. */
export function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}
