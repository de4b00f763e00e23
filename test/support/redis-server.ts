import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';

/**
 * A Redis of the test's own (redis-server on a free port, nothing on disk), for tests that empty or restart Redis
 * without touching the shared one other test files use at the same time.
 */
export interface OwnRedis {
  url: string;
  port: number;
  flushAll(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOwnRedis(port = 20000 + Math.floor(Math.random() * 20000)): Promise<OwnRedis> {
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await client.connect();
      await client.ping();
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      client.disconnect();
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    port,
    flushAll: async () => {
      await client.flushall();
    },
    stop: async () => {
      client.disconnect();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
