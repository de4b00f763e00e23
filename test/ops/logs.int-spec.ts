/**
 * Structured logs of a real worker process (LOG_FORMAT=json): every line is a JSON object; an event's correlation
 * id follows it from the event to its tasks; the patient appears only as a keyed hash, never by id.
 */
import { patientRef } from '@app/platform';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { marginPositiveJourney } from '../support/events';
import { eventsLogged, UpstreamPublisher, uniquePrefix, waitFor } from '../support/queues';
import { spawnWorkerProcess } from '../support/worker';

let db: TestDatabase;
let upstream: UpstreamPublisher;

beforeAll(async () => {
  db = await createTestDatabase('logs');
});
afterAll(async () => {
  await upstream?.destroy();
  await db.drop();
});

it('JSON lines, the correlation id from event to tasks, and the patient only as patientRef', async () => {
  const prefix = uniquePrefix('logs');
  upstream = new UpstreamPublisher(prefix);
  const worker = spawnWorkerProcess({
    databaseUrl: db.url,
    prefix,
    quiet: true,
    config: { LOG_FORMAT: 'json', LOG_LEVEL: 'debug', LOG_HASH_KEY: 'test-key' },
  });
  try {
    const journey = marginPositiveJourney('logs', 'P-LOG-1').map((e) => ({ ...e, correlationId: 'corr-logs-1' }));
    await upstream.publish(journey);
    await eventsLogged(
      db.pool,
      journey.map((e) => e.eventId),
    );
    const lines = await waitFor(
      async () =>
        worker
          .output()
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>),
      (parsed) => parsed.some((l) => l.msg === 'tasks routed'),
      { what: 'the routing log line', timeoutMs: 30_000 },
    );
    const events = lines.filter((l) => l.msg === 'clinical event');
    expect(events.map((l) => l.eventId)).toEqual(journey.map((e) => e.eventId));
    for (const line of events)
      expect(line).toMatchObject({
        app: 'worker',
        level: 20,
        correlationId: 'corr-logs-1',
        patientRef: patientRef('test-key', 'P-LOG-1'),
      });
    expect(lines.find((l) => l.msg === 'tasks routed')).toMatchObject({ correlationId: 'corr-logs-1' });
    expect(worker.output()).not.toContain('P-LOG-1');
  } finally {
    await worker.stop();
  }
});
