/**
 * How often BullMQ may find a job stalled (its worker died, or hung past the job's lock) and hand it to a worker
 * again before failing it. BullMQ's default, 1, fails a job whose worker died twice while running it (two crashes in
 * a row, or a restart loop), and such a failure is not retried: a clinical event would be left in Redis's failed set
 * only. Every processor here is idempotent (the event door, routing, email rows), so a second run is harmless; a job
 * that crashes every worker that takes it still ends, after this many, and is dead-lettered (clinical events).
 */
export const MAX_STALLED_COUNT = 10;

/** BullMQ's reason for a job failed because it stalled more than MAX_STALLED_COUNT times. */
export const STALLED_TOO_OFTEN = 'job stalled more than allowable limit';
