import { Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

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

/**
 * A queue the process only adds to (or reads counts from), on a producer connection it owns, with a close that
 * completes even while Redis is down: BullMQ's own close waits for the connection to be ready and then sends QUIT,
 * which would hold a shutdown forever during an outage; here it is given a moment, then the socket is dropped.
 */
export function producerQueue(
  name: string,
  redisUrl: string,
  prefix: string,
): { queue: Queue; close(): Promise<void> } {
  const client = new Redis(redisConnection(redisUrl, 'producer'));
  client.on('error', () => undefined); // the queue's own 'error' listener reports
  const queue = new Queue(name, { connection: client, prefix });
  return {
    queue,
    close: async () => {
      const closed = queue.close().then(
        () => true,
        () => false,
      );
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 2000)));
      await Promise.race([closed, late]);
      clearTimeout(timer);
      client.disconnect();
    },
  };
}
