import type { RedisOptions } from 'ioredis';

/**
 * ioredis options from a redis:// URL. Workers block on Redis and must retry forever
 * (`maxRetriesPerRequest: null`); producers fail fast instead of queueing commands while Redis is down
 * (`enableOfflineQueue: false`), so the caller learns at once that an event was not accepted.
 */
export function redisConnection(url: string, role: 'worker' | 'producer'): RedisOptions {
  const parsed = new URL(url);
  const options: RedisOptions = {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.pathname.length > 1 ? { db: Number(parsed.pathname.slice(1)) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  return role === 'worker'
    ? { ...options, maxRetriesPerRequest: null }
    : { ...options, maxRetriesPerRequest: 1, enableOfflineQueue: false };
}
