import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, RedisProcesses } from './redis-cluster';

export interface SentinelSetup {
  /** Master group name (`sentinel monitor <name> ...`). */
  name?: string;
  /** How long a primary must be unreachable before sentinels call it down (production default: 30 s). */
  downAfterMs?: number;
  /** Sentinel's failover-timeout; a sentinel waits twice this before it tries the same master group again. */
  failoverTimeoutMs?: number;
}

export interface OwnRedisSentinel {
  /** redis+sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/<name> */
  url: string;
  name: string;
  /** Ports of the two data servers (the first starts as primary) and of the three sentinels. */
  serverPorts: number[];
  sentinelPorts: number[];
  /** The primary's port, as a sentinel that is still up reports it. */
  primaryPort(): Promise<number>;
  /** A plain connection to one data server. */
  server(port: number): Redis;
  /**
   * SIGKILL the current primary (a crash: no shutdown, nothing handed over); resolves once it is dead with its port
   * and the time (Date.now()) its death was seen: whatever a client gets accepted after that is the new primary's.
   */
  killPrimary(): Promise<{ port: number; at: number }>;
  /**
   * Starts a killed server again on its port, empty, and resolves once it is a replica in sync. `asReplica` (the
   * default) starts it as a replica of the primary the sentinels name, as a supervisor that asks them first would;
   * otherwise it comes back as the primary its own configuration names and waits for the sentinels to demote it
   * (they look at a returning server every 10 s, so that takes longer).
   */
  restart(port: number, asReplica?: boolean): Promise<void>;
  /** Resolves when the sentinels name a primary other than `oldPort`, with how long it took from `since`. */
  waitForNewPrimary(oldPort: number, since: number, timeoutMs?: number): Promise<{ port: number; ms: number }>;
  stop(): Promise<void>;
}

/**
 * One primary, one replica (replicaof, asynchronous replication) and three sentinels (redis-server --sentinel with a
 * generated sentinel.conf each, quorum 2) on free local ports; ready when the replica is in sync and every sentinel
 * knows the replica and the two other sentinels (CKQUORUM), so a failover can be authorised at once.
 */
export async function startRedisSentinel(setup: SentinelSetup = {}): Promise<OwnRedisSentinel> {
  const name = setup.name ?? 'sarcoma';
  const downAfterMs = setup.downAfterMs ?? 1000;
  const failoverTimeoutMs = setup.failoverTimeoutMs ?? 5000;
  const processes = await RedisProcesses.create('sentinel');
  const clients = new Map<number, Redis>();
  const connect = (port: number) => {
    let client = clients.get(port);
    if (!client) {
      client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => 200 });
      client.on('error', () => undefined);
      clients.set(port, client);
    }
    return client;
  };
  try {
    const servers = new Map<number, ChildProcess>();
    const serverPorts = [await freePort(), await freePort()];
    const [primary, replica] = serverPorts;
    const serverArgs = (port: number) => [
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', processes.dir],
      ...['--save', '', '--appendonly', 'no', '--dbfilename', `dump-${port}.rdb`],
      // a replica that (re)joins gets its full copy at once, not after the default 5 s wait for more replicas
      ...['--repl-diskless-sync-delay', '0'],
    ];
    servers.set(primary, await processes.start(primary, serverArgs(primary)));
    servers.set(
      replica,
      await processes.start(replica, [...serverArgs(replica), '--replicaof', '127.0.0.1', String(primary)]),
    );
    await until(
      async () => (await connect(replica).info('replication')).includes('master_link_status:up'),
      'replica in sync',
    );

    const sentinelPorts = [await freePort(), await freePort(), await freePort()];
    const startSentinel = async (port: number) => {
      const conf = join(processes.dir, `sentinel-${port}.conf`);
      // sentinel rewrites its own configuration file (what it learnt, the current epoch): one writable file each
      await writeFile(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${processes.dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${primary} 2`,
          `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
          `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      await processes.start(port, [conf, '--sentinel']);
    };
    await Promise.all(sentinelPorts.map(startSentinel));
    await until(async () => {
      for (const port of sentinelPorts) {
        const quorum = String(
          await connect(port)
            .call('SENTINEL', 'CKQUORUM', name)
            .catch((e: Error) => e.message),
        );
        const replicas = (await connect(port).call('SENTINEL', 'REPLICAS', name)) as string[][];
        if (!quorum.includes('3 usable Sentinels') || replicas.length !== 1) return false;
      }
      return true;
    }, 'three sentinels that know each other and the replica');

    const primaryPort = async () => {
      for (const port of sentinelPorts) {
        const addr = (await connect(port)
          .call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)
          .catch(() => null)) as [string, string] | null;
        if (addr) return Number(addr[1]);
      }
      throw new Error('no sentinel answers');
    };
    return {
      url: `redis+sentinel://${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}/${name}`,
      name,
      serverPorts,
      sentinelPorts,
      primaryPort,
      server: connect,
      async killPrimary() {
        const port = await primaryPort();
        await processes.kill(servers.get(port)!);
        const at = Date.now();
        connect(port).disconnect();
        clients.delete(port);
        return { port, at };
      },
      async restart(port, asReplica = true) {
        const replicaOf = asReplica ? ['--replicaof', '127.0.0.1', String(await primaryPort())] : [];
        servers.set(port, await processes.start(port, [...serverArgs(port), ...replicaOf]));
        await until(
          async () => (await connect(port).info('replication')).includes('master_link_status:up'),
          `${port} back as a replica in sync`,
          { timeoutMs: 30_000 },
        );
      },
      async waitForNewPrimary(oldPort, since, timeoutMs = 30_000) {
        let port = oldPort;
        await until(async () => (port = await primaryPort()) !== oldPort, `a primary other than ${oldPort}`, {
          timeoutMs,
          intervalMs: 20,
        });
        return { port, ms: Date.now() - since };
      },
      async stop() {
        clients.forEach((c) => c.disconnect());
        await processes.stopAll();
      },
    };
  } catch (err) {
    clients.forEach((c) => c.disconnect());
    await processes.stopAll();
    throw err;
  }
}

async function until(
  probe: () => Promise<boolean>,
  what: string,
  { timeoutMs = 20_000, intervalMs = 100 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
