/**
 * Prometheus metrics: the worker counts events by type and outcome, latencies, emails and escalations on its own
 * endpoint; the api reports the system-wide gauges (queues, outbox, dead letters, tasks, overdue surveillance) at
 * /metrics for an admin key. Nothing in either names a patient.
 */
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { MetricsServer } from '../../apps/worker/src/metrics/metrics-server';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { marginPositiveJourney } from '../support/events';
import { eventsLogged, UpstreamPublisher, uniquePrefix, waitFor } from '../support/queues';
import { startWorker } from '../support/worker';
import { startApi, seedDemoTeams } from '../support/api';

let db: TestDatabase;
let api: INestApplication;
let worker: INestApplicationContext;
let upstream: UpstreamPublisher;
let base: string;

beforeAll(async () => {
  db = await createTestDatabase('metrics');
  await seedDemoTeams(db.pool);
  const prefix = uniquePrefix('metrics');
  upstream = new UpstreamPublisher(prefix);
  worker = await startWorker({ databaseUrl: db.url, prefix });
  ({ app: api, base } = await startApi({ databaseUrl: db.url, prefix }));
});
afterAll(async () => {
  await api.close();
  await worker.close();
  await upstream.destroy();
  await db.drop();
});

/** The value of one sample line, e.g. sample(text, 'sarcoma_open_tasks{priority="high"') (without the app label). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return undefined;
}

it('the worker counts events by type and outcome, with processing and end-to-end latency, and no patient data', async () => {
  const journey = marginPositiveJourney('met', 'P-METRICS-1');
  await upstream.publish(journey);
  await upstream.publishRaw('pathology.reported', { eventId: 'met-bad', type: 'pathology.reported' }, 'met-bad');
  await eventsLogged(
    db.pool,
    journey.map((e) => e.eventId),
  );
  await waitFor(
    async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM dead_letters')).rows[0].n,
    (n) => n === 1,
    { what: 'the invalid event dead-lettered' },
  );
  const port = worker.get(MetricsServer).port();
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  expect(sample(text, 'sarcoma_clinical_events_total', { type: 'pathology.reported', outcome: 'applied' })).toBe(1);
  expect(sample(text, 'sarcoma_clinical_events_total', { type: 'patient.registered', outcome: 'applied' })).toBe(1);
  expect(sample(text, 'sarcoma_clinical_events_total', { type: 'pathology.reported', outcome: 'invalid' })).toBe(1);
  expect(sample(text, 'sarcoma_event_processing_seconds_count')).toBe(3);
  expect(sample(text, 'sarcoma_event_end_to_end_seconds_count')).toBe(3);
  expect(text).toContain('app="worker"');
  expect(text).not.toContain('P-METRICS-1');
  expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
});

it('the api reports queues, outbox, dead letters, open tasks and store health to an admin key only', async () => {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer demo-admin-key' } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const text = await res.text();
  expect(sample(text, 'sarcoma_store_up', { store: 'postgres' })).toBe(1);
  expect(sample(text, 'sarcoma_store_up', { store: 'redis' })).toBe(1);
  expect(sample(text, 'sarcoma_open_tasks', { priority: 'high' })).toBeGreaterThanOrEqual(2); // R1: re-excision review + MDT
  expect(sample(text, 'sarcoma_queue_jobs', { queue: 'clinical-events', state: 'failed' })).toBeGreaterThanOrEqual(1); // the invalid one
  expect(sample(text, 'sarcoma_dead_letters_open', { channel: 'queue' })).toBe(1);
  expect(sample(text, 'sarcoma_outbox_lag_seconds')).toBeGreaterThanOrEqual(0);
  expect(text).toContain('sarcoma_process_cpu_seconds_total');
  expect(text).not.toContain('P-METRICS-1');
  expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer demo-navigator-key' } })).status).toBe(
    403,
  );
  expect((await fetch(`${base}/metrics`)).status).toBe(401);
});
