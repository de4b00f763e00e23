/** Queue names shared by publishers and the worker. The BullMQ prefix is configuration (QUEUE_PREFIX). */
export const CLINICAL_EVENTS_QUEUE = 'clinical-events';
export const NOTIFICATIONS_QUEUE = 'notifications';
export const TIMERS_QUEUE = 'timers';
export const DEFAULT_QUEUE_PREFIX = 'sarcoma';

/**
 * How a clinical event goes onto the queue: job name = event type, jobId = eventId (BullMQ ignores a second
 * add with the same id while the job is kept; the event log's unique key catches anything later).
 * Returns a plain description, so publishers need no import from this project beyond the contract.
 */
export function clinicalEventJob<E extends { eventId: string; type: string }>(event: E) {
  return {
    name: event.type,
    data: event,
    opts: {
      jobId: event.eventId,
      attempts: 10,
      backoff: { type: 'exponential' as const, delay: 1000 },
      removeOnComplete: { age: 24 * 3600, count: 50_000 },
      removeOnFail: { age: 30 * 24 * 3600 },
    },
  };
}

/**
 * Backfills (years of history from a lab or surgical system) go on their own queue, in batches: live events are
 * never stuck behind a million historical ones, and the worker applies a batch in one transaction.
 */
export const CLINICAL_EVENTS_BACKFILL_QUEUE = 'clinical-events-backfill';
export const CLINICAL_EVENT_BATCH_JOB = 'clinical-events-batch';
/** Events per batch job: bounded so a job stays small in Redis and its transaction short. */
export const BACKFILL_BATCH_MAX = 1000;

/** A batch of clinical events, in the order they should be applied; the batch id makes a re-publish harmless. */
export function clinicalEventBatchJob<E extends { eventId: string }>(batchId: string, events: E[]) {
  if (events.length === 0 || events.length > BACKFILL_BATCH_MAX)
    throw new RangeError(`a backfill batch holds 1 to ${BACKFILL_BATCH_MAX} events, not ${events.length}`);
  return {
    name: CLINICAL_EVENT_BATCH_JOB,
    data: { batchId, events },
    opts: {
      jobId: batchId,
      attempts: 10,
      backoff: { type: 'exponential' as const, delay: 1000 },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 30 * 24 * 3600 },
    },
  };
}
