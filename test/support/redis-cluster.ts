import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

export const REDIS_SERVER = process.env.TEST_REDIS_SERVER ?? '/usr/bin/redis-server';
export const REDIS_CLI = process.env.TEST_REDIS_CLI ?? 'redis-cli';

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Runs redis-server under a small sh that SIGKILLs it as soon as this process's end of the sh's stdin closes, so a
 * server never outlives the test process, however that ends (afterAll, jest's process.exit, a crash, SIGKILL).
 * Background jobs of a non-interactive sh read /dev/null, hence stdin is kept on fd 3 for the watcher.
 */
const WATCHDOG = 'exec 3<&0; "$0" "$@" 3<&- </dev/null & pid=$!; (read -r _ <&3; kill -9 $pid 2>/dev/null) & wait $pid';

/** redis-server processes a test owns, with nothing on disk but a temporary folder, all killed by stopAll(). */
export class RedisProcesses {
  private readonly children = new Set<ChildProcess>();

  private constructor(readonly dir: string) {}

  static async create(label: string): Promise<RedisProcesses> {
    return new RedisProcesses(await mkdtemp(join(tmpdir(), `sarcoma-${label}-`)));
  }

  /** Starts redis-server with these arguments and waits until it answers PING on `port`. */
  async start(port: number, args: string[]): Promise<ChildProcess> {
    const child = spawn('sh', ['-c', WATCHDOG, REDIS_SERVER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = ''; // redis-server logs to stdout: kept for the reason it exits at start (a port taken, a bad option)
    for (const stream of [child.stdout, child.stderr])
      stream?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-2000)));
    this.children.add(child);
    await waitForPing(
      port,
      child,
      () => `redis-server on ${port} exited: ${output.trim().split('\n').slice(-3).join(' | ')}`,
    );
    return child;
  }

  /** SIGKILL: the server dies as in a crash or a power cut, with no chance to hand anything over. */
  async kill(child: ChildProcess): Promise<void> {
    const exited =
      child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((r) => child.once('exit', r));
    child.stdin?.destroy();
    await exited;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.children].map((c) => this.kill(c)));
    this.children.clear();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Waits until the server this child runs answers PING on `port`. The port was free when picked but another test may
 * have taken it since: a server answering there counts only if its process is this child's (Linux: /proc).
 */
async function waitForPing(port: number, child: ChildProcess, why: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(why());
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const pid = /process_id:(\d+)/.exec(await client.info('server'))?.[1];
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === child.pid) return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    } finally {
      client.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`port ${port} is answered by a server that is not ours`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface OwnRedisCluster {
  /** redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3 */
  url: string;
  ports: number[];
  /** A plain connection to one node (for CLUSTER and key inspection per node). */
  node(port: number): Redis;
  /** The master that serves this key's slot. */
  masterOf(key: string): Promise<number>;
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of `masters` masters and no replicas on free local ports (redis-server --cluster-enabled yes, then
 * redis-cli --cluster create), ready when every node reports cluster_state:ok.
 */
export async function startRedisCluster(masters = 3): Promise<OwnRedisCluster> {
  const processes = await RedisProcesses.create('cluster');
  const clients = new Map<number, Redis>();
  try {
    const ports: number[] = [];
    for (let i = 0; i < masters; i++) {
      const [port, busPort] = [await freePort(), await freePort()];
      ports.push(port);
      await processes.start(port, [
        ...['--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1'],
        ...['--cluster-enabled', 'yes', '--cluster-config-file', join(processes.dir, `nodes-${port}.conf`)],
        ...['--cluster-node-timeout', '2000', '--dir', processes.dir, '--save', '', '--appendonly', 'no'],
      ]);
    }
    await promisify(execFile)(REDIS_CLI, [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    const node = (port: number) => {
      let client = clients.get(port);
      if (!client) {
        client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
        client.on('error', () => undefined);
        clients.set(port, client);
      }
      return client;
    };
    const deadline = Date.now() + 15_000;
    for (const port of ports) {
      for (;;) {
        const info = String(await node(port).call('CLUSTER', 'INFO'));
        if (info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${masters}`)) break;
        if (Date.now() > deadline) throw new Error(`cluster not ok on ${port}: ${info}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return {
      url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
      ports,
      node,
      async masterOf(key) {
        const slot = Number(await node(ports[0]).call('CLUSTER', 'KEYSLOT', key));
        const slots = (await node(ports[0]).call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
        const range = slots.find(([from, to]) => slot >= from && slot <= to);
        if (!range) throw new Error(`no master serves slot ${slot}`);
        return Number(range[2][1]);
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
