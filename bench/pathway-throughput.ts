/**
 * `npm run bench:door`: end-to-end throughput and latency of the pathway core through the real queue, next to a
 * baseline measured in the same run: a bare BullMQ worker doing the same shape of PostgreSQL transaction
 * (insert one row with a unique key, lock and update one row, insert one row) with no service code.
 *
 * Environment: BENCH_PATIENTS (10000), BENCH_EVENTS (50000), BENCH_RATE (500 events/s), BENCH_SECONDS (10),
 * WORKER_CONCURRENCY (16). Durable commits throughout (synchronous_commit stays on).
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Queue, type Job } from 'bullmq';
import { CLINICAL_EVENTS_QUEUE, clinicalEventJob, type ClinicalEvent } from '@app/contracts';
import { redisConnection } from '@app/platform';
import { createPool, migrate } from '@app/store';
import { WorkerModule } from '../apps/worker/src/worker.module';
import { printResult, round } from './support/bench-env';
import {
  BASELINE_SCHEMA,
  baselineWorker,
  freshDatabase,
  keep,
  REDIS_URL,
  roundRobin,
  waitDrained,
  type Throughput,
} from './support/queue-bench';

const PATIENTS = Number(process.env.BENCH_PATIENTS ?? 10_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000);
const RATE = Number(process.env.BENCH_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.WORKER_CONCURRENCY ?? 16);
const POOL = 20;

interface Latency {
  offered: number;
  events: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

async function publishAll(queue: Queue, events: ClinicalEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 1000) {
    await queue.addBulk(events.slice(i, i + 1000).map((e) => keep(clinicalEventJob(e))));
  }
}

async function offerAtRate(queue: Queue, events: ClinicalEvent[]): Promise<Latency> {
  const intervalMs = 1000 / RATE;
  const started = Date.now();
  for (let i = 0; i < events.length; i += 1) {
    const due = started + i * intervalMs;
    const wait = due - Date.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const job = keep(clinicalEventJob(events[i]));
    void queue.add(job.name, job.data, job.opts);
  }
  await waitDrained(queue, events.length, started);
  const jobs = await queue.getJobs(['completed'], 0, events.length);
  const latencies = jobs.map((j: Job) => (j.finishedOn ?? 0) - j.timestamp).sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    offered: RATE,
    events: latencies.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: latencies[latencies.length - 1],
  };
}

async function runBaseline(events: ClinicalEvent[], latencyEvents: ClinicalEvent[]) {
  const url = await freshDatabase('sarcoma_bench_baseline');
  const pool = createPool(url, POOL);
  await pool.query(BASELINE_SCHEMA);
  const prefix = `bench-baseline-${process.pid}`;
  const queue = new Queue(CLINICAL_EVENTS_QUEUE, { connection: redisConnection(REDIS_URL, 'worker'), prefix });
  await publishAll(queue, events);
  const started = Date.now();
  const worker = baselineWorker(pool, prefix, CONCURRENCY);
  const throughput = await waitDrained(queue, events.length, started);
  await queue.obliterate({ force: true });
  const latency = await offerAtRate(queue, latencyEvents);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  await pool.end();
  return { throughput, latency };
}

async function runService(events: ClinicalEvent[], latencyEvents: ClinicalEvent[]) {
  const url = await freshDatabase('sarcoma_bench_service');
  await migrate(url);
  const prefix = `bench-service-${process.pid}`;
  const queue = new Queue(CLINICAL_EVENTS_QUEUE, { connection: redisConnection(REDIS_URL, 'worker'), prefix });
  await publishAll(queue, events);
  const started = Date.now();
  const app = await NestFactory.createApplicationContext(
    WorkerModule.forRoot({
      config: {
        DATABASE_URL: url,
        REDIS_URL,
        QUEUE_PREFIX: prefix,
        WORKER_CONCURRENCY: CONCURRENCY,
        PG_POOL_SIZE: POOL,
      },
    }),
    { logger: ['error'] },
  );
  await app.init();
  const throughput = await waitDrained(queue, events.length, started);
  await queue.obliterate({ force: true });
  const latency = await offerAtRate(queue, latencyEvents);
  await app.close();
  // Every guarantee kept: each event in the log once, no job failed.
  const check = createPool(url, 2);
  const logged = (await check.query<{ n: number }>('SELECT count(*)::int AS n FROM clinical_events')).rows[0].n;
  const outboxPending = (await check.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox')).rows[0].n;
  await check.end();
  for (const name of ['notifications', 'timers']) {
    await new Queue(name, { connection: redisConnection(REDIS_URL, 'worker'), prefix })
      .obliterate({ force: true })
      .catch(() => undefined);
  }
  await queue.obliterate({ force: true });
  await queue.close();
  return { throughput, latency, logged, outboxPending };
}

function row(label: string, f: Throughput): string {
  return `  ${label.padEnd(10)} ${String(f.events).padStart(7)} events in ${f.seconds.toFixed(1).padStart(6)} s = ${f.perSecond.toFixed(0).padStart(6)} events/s`;
}
function latencyRow(label: string, l: Latency): string {
  return `  ${label.padEnd(10)} p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms, max ${l.max} ms (${l.events} events at ${l.offered}/s)`;
}

async function main(): Promise<void> {
  const events = roundRobin(PATIENTS, EVENTS, 42, 'bench');
  const latencyEvents = roundRobin(Math.ceil((RATE * SECONDS) / 2), RATE * SECONDS, 43, 'lat');
  console.log(
    `pathway core benchmark: ${events.length} events for ${PATIENTS} patients; concurrency ${CONCURRENCY}, pool ${POOL}`,
  );
  console.log(`node ${process.version}, durable commits (synchronous_commit on)`);
  // BENCH_ONLY=service skips the baseline (for profiling); the ratio then is not printed.
  const only = process.env.BENCH_ONLY;
  // BENCH_ORDER=service-first runs the service before the baseline (checkpoints and autovacuum from the first
  // run land on the second: swap the order to see how much that moves the ratio).
  const serviceFirst = process.env.BENCH_ORDER === 'service-first';
  const early = serviceFirst ? await runService(events, latencyEvents) : null;
  const baseline = only === 'service' ? null : await runBaseline(events, latencyEvents);
  const service = early ?? (await runService(events, latencyEvents));
  if (!baseline) {
    console.log(row('service', service.throughput));
    console.log(latencyRow('service', service.latency));
    process.exit(0);
  }
  console.log('\nthroughput (publish all, then drain; publish -> committed):');
  console.log(row('baseline', baseline.throughput));
  console.log(row('service', service.throughput));
  console.log(
    `  ratio service/baseline: ${(service.throughput.perSecond / baseline.throughput.perSecond).toFixed(2)} (target >= 0.8)`,
  );
  console.log('\nlatency at a steady offered rate (publish -> committed):');
  console.log(latencyRow('baseline', baseline.latency));
  console.log(latencyRow('service', service.latency));
  console.log(`  service p99 ${service.latency.p99} ms (target < 50 ms)`);
  console.log(
    `\nguarantees: ${service.logged} events logged for ${events.length + latencyEvents.length} published; outbox rows pending after drain: ${service.outboxPending}`,
  );
  printResult('door', {
    patients: PATIENTS,
    events: events.length,
    baselineEventsPerSecond: round(baseline.throughput.perSecond, 0),
    serviceEventsPerSecond: round(service.throughput.perSecond, 0),
    ratio: round(service.throughput.perSecond / baseline.throughput.perSecond, 2),
    serviceP99AtRate: service.latency.p99,
    rate: RATE,
  });
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
