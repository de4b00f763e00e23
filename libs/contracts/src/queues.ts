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
