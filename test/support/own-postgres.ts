/**
 * A PostgreSQL server of the test's own: a private cluster (initdb in a temporary directory, pg_ctl on a free port),
 * for the fault that restarts PostgreSQL itself without touching the shared server on 5432 other test files use at
 * the same time. The server can be stopped as a crash (`pg_ctl stop -m immediate`: no checkpoint, the next start
 * replays the WAL) or cleanly (`-m fast`: sessions terminated, a checkpoint), and started again on the same port and
 * data directory; `destroy()` stops it and removes the directory.
 *
 * Debian's binaries (/usr/lib/postgresql/<version>/bin, the newest installed; PG_BIN overrides). PostgreSQL refuses
 * to run as root: when the suite runs as root, initdb and pg_ctl run as the `postgres` OS user (runuser), and the
 * directory belongs to it.
 *
 *   const pg = await startOwnPostgres();     // postgres://postgres@127.0.0.1:<port>, trust
 *   await pg.stop('immediate');              // a crash: connections cut, nothing flushed beyond the WAL
 *   await pg.start();                        // same port, same data; resolves when it accepts connections
 *   await pg.destroy();                      // stopped (if running) and the directory removed
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createPool, ensureDatabase, migrate } from '@app/store';
import type { TestDatabase } from './database';
import { createFaultEnv, type Cleanup, type FaultEnv } from './faults';

export type StopMode = 'immediate' | 'fast';

export interface OwnPostgres {
  /** Without a database name: `${url}/<database>`. */
  readonly url: string;
  readonly port: number;
  /** The temporary directory: the cluster in `data/`, the server's log in `server.log`, its socket here too. */
  readonly dir: string;
  readonly running: boolean;
  /** pg_ctl stop -m <mode>; resolves when the server is gone. */
  stop(mode: StopMode): Promise<void>;
  /** pg_ctl start on the same port and data; resolves when it accepts connections (crash recovery done); ms taken. */
  start(): Promise<number>;
  /** Stops it (immediate, if running) and removes the directory; safe to call twice. */
  destroy(): Promise<void>;
  /** The last lines of the server's log (for a failure message). */
  logTail(lines?: number): string;
}

/** The newest PostgreSQL installed the Debian way, or PG_BIN. */
export function postgresBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL under ${root} (set PG_BIN to its bin directory)`);
  return join(root, versions[0], 'bin');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** uid and gid of an OS user (`id`). */
function osUser(name: string): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const bin = postgresBin();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'sarcoma-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  if (asRoot) {
    const { uid, gid } = osUser('postgres');
    chownSync(dir, uid, gid);
  }
  /** One of PostgreSQL's programs, as the postgres user when we are root; its output for a failure message. */
  const run = (program: string, args: string[], timeoutMs = 90_000) => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]]
      : [join(bin, program), args];
    return new Promise<void>((resolve, reject) => {
      // cwd: a directory the postgres user may enter; pg_ctl's server writes to the log file, not to our pipes
      execFile(file, argv, { cwd: dir, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${program} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
        else resolve();
      });
    });
  };
  let running = false;
  let port = 0;
  const options = () =>
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=200`;

  const stop = async (mode: StopMode) => {
    if (!running) return;
    await run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
    running = false;
  };
  const start = async () => {
    const began = Date.now();
    await run('pg_ctl', ['-D', data, '-l', logFile, '-o', options(), '-w', '-t', '120', 'start'], 150_000);
    running = true;
    return Date.now() - began;
  };
  const logTail = (lines = 20) => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no server log)';
    }
  };
  // if the test process ends without its cleanup (an uncaught error, a timeout), the server must not outlive it
  const pidFile = join(data, 'postmaster.pid');
  const onExit = () => {
    try {
      if (!existsSync(pidFile)) return;
      const args = ['-D', data, '-m', 'immediate', '-w', 'stop'];
      if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), ...args], { cwd: dir });
      else execFileSync(join(bin, 'pg_ctl'), args, { cwd: dir });
    } catch {
      // gone already
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  process.once('exit', onExit);
  const destroy = async () => {
    process.off('exit', onExit);
    try {
      // whatever `running` says (a start that timed out may have left a server): stop it if its pid file is there
      if (existsSync(pidFile)) await run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop']);
      running = false;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  try {
    // C.UTF-8 and UTF8, as the shared server: text sorts the same on both
    await run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
    // a free port now may be taken by the time the server binds it: a few tries
    for (let attempt = 1; ; attempt += 1) {
      port = await freePort();
      try {
        await start();
        break;
      } catch (err) {
        if (attempt >= 3) throw new Error(`${(err as Error).message}\n${logTail()}`);
      }
    }
  } catch (err) {
    await destroy().catch(() => undefined);
    throw err;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}`,
    port,
    dir,
    get running() {
      return running;
    },
    stop,
    start,
    destroy,
    logTail,
  };
}

/**
 * A fresh, migrated database on the test's own server (createTestDatabase does the same on the shared one). Its pool
 * outlives restarts of the server: broken idle clients are dropped and replaced (createPool).
 */
export async function createOwnTestDatabase(pg: OwnPostgres, label: string): Promise<TestDatabase> {
  const name = `sarcoma_test_${label.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
  const url = `${pg.url}/${name}`;
  await ensureDatabase(url);
  await migrate(url);
  const pool = createPool(url, 10);
  return {
    url,
    pool,
    async drop() {
      await pool.end();
      if (!pg.running) return; // the whole cluster is removed with its directory anyway
      const admin = new Client({ connectionString: `${pg.url}/postgres` });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** createFaultEnv (test/support/faults.ts) with the database on the test's own PostgreSQL server. */
export function createFaultEnvOn(
  pg: OwnPostgres,
  label: string,
  redisUrl: string,
  cleanup: Cleanup,
): Promise<FaultEnv> {
  return createFaultEnv(label, redisUrl, cleanup, (name) => createOwnTestDatabase(pg, name));
}
