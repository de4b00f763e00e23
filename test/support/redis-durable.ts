import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * A Redis of the test's own that keeps its data on disk as production should (`appendonly yes`, `appendfsync
 * always`: every write is on disk before Redis answers), and that the test can crash (`kill('SIGKILL')`) or stop
 * and start again on the same port and data directory. The directory is removed by `destroy()`.
 */
export interface DurableRedis {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly running: boolean;
  /** Stops the server: SIGTERM (a clean shutdown) or SIGKILL (a crash); resolves when the process is gone. */
  kill(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same port and directory; resolves when it answers PING with its data loaded. */
  start(): Promise<void>;
  /** Stops the server (if running) and removes its directory. */
  destroy(): Promise<void>;
}

const freePort = () => 20000 + Math.floor(Math.random() * 20000);

export async function startDurableRedis(port = freePort()): Promise<DurableRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'sarcoma-redis-aof-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;

  const start = async () => {
    if (child) return;
    const started = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: 'ignore' },
    );
    child = started;
    started.once('exit', () => {
      if (child === started) child = null;
    });
    // PING answers LOADING while the AOF is replayed: wait for a real PONG
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    probe.on('error', () => undefined);
    const deadline = Date.now() + 15_000;
    try {
      for (;;) {
        try {
          if (probe.status !== 'ready') await probe.connect();
          if ((await probe.ping()) === 'PONG') return;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          probe.disconnect();
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      probe.disconnect();
    }
  };

  const kill = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    const current = child;
    if (!current) return;
    if (current.exitCode !== null || current.signalCode !== null) {
      child = null;
      return;
    }
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill(signal);
    await exited;
    child = null;
  };

  await start();
  return {
    url,
    port,
    dir,
    get running() {
      return child !== null;
    },
    kill,
    start,
    destroy: async () => {
      await kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
