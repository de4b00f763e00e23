import type { RedisOptions } from 'bullmq';

/**
 * BullMQ connection options from a redis:// URL. Workers block on Redis and must retry forever
 * (`maxRetriesPerRequest: null`); producers fail fast instead of queueing commands while Redis is down
 * (`enableOfflineQueue: false`), so the caller learns at once that an event was not accepted.
 */
export function redisConnection(url: string, role: 'worker' | 'producer'): RedisOptions {
  return role === 'worker'
    ? { url, maxRetriesPerRequest: null }
    : { url, maxRetriesPerRequest: 1, enableOfflineQueue: false };
}
