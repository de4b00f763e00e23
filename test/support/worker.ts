import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { ServiceConfig } from '@app/config';
import type { Clock } from '@app/store';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { REDIS_URL } from './queues';

export interface WorkerSetup {
  databaseUrl: string;
  prefix: string;
  concurrency?: number;
  clock?: Clock;
  /** More configuration (SMTP_URL, MAIL_OUTBOX_DIR, ...); for a spawned process, its environment. */
  config?: Partial<ServiceConfig>;
  /** A spawned process's output is kept (output()) but not echoed to the test's stderr. */
  quiet?: boolean;
}

/** The worker app in this process (real Redis, real PostgreSQL), for tests that inspect it. */
export async function startWorker(setup: WorkerSetup): Promise<INestApplicationContext> {
  // emails go to a folder of this worker's own, removed when it closes (unless the test sends them over SMTP)
  const mailDir = join(tmpdir(), `sarcoma-mail-${setup.prefix}`);
  const app = await NestFactory.createApplicationContext(
    WorkerModule.forRoot({
      config: {
        DATABASE_URL: setup.databaseUrl,
        REDIS_URL,
        QUEUE_PREFIX: setup.prefix,
        WORKER_CONCURRENCY: setup.concurrency ?? 8,
        OUTBOX_POLL_MS: 20,
        MAIL_OUTBOX_DIR: mailDir,
        ...setup.config,
      },
      clock: setup.clock,
    }),
    { logger: ['error'] },
  );
  await app.init();
  const close = app.close.bind(app);
  app.close = async () => {
    await close();
    await rm(mailDir, { recursive: true, force: true });
  };
  return app;
}

const ROOT = join(__dirname, '..', '..');

/** The worker as a separate OS process, exactly as deployed (main.ts), for multi-process tests. */
export function spawnWorkerProcess(setup: WorkerSetup) {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', join(ROOT, 'apps/worker/src/main.ts')],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
        DATABASE_URL: setup.databaseUrl,
        REDIS_URL,
        QUEUE_PREFIX: setup.prefix,
        WORKER_CONCURRENCY: String(setup.concurrency ?? 8),
        LOG_LEVEL: 'warn',
        ...Object.fromEntries(Object.entries(setup.config ?? {}).map(([k, v]) => [k, String(v)])),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!setup.quiet) process.stderr.write(chunk);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
