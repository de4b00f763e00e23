import { createIORedisClient, Queue, RedisConnection, type IRedisClient } from 'bullmq';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * Where Redis is, from REDIS_URL. Three forms (`rediss` instead of `redis`: TLS):
 *
 *   redis://[user:password@]host[:6379][/db]                                    one server
 *   redis+sentinel://[user:password@]host:26379[,host:26379...]/name[/db]
 *       [?sentinelUsername=...&sentinelPassword=...]                            Sentinel: the primary of `name`
 *   redis+cluster://[user:password@]host:port[,host:port...]                    Redis Cluster: seed nodes
 *
 * The credentials in front of the hosts are those of the Redis servers (the primary and replicas, or the cluster
 * nodes); sentinels that require a password of their own get it in the query. Percent-encode reserved characters
 * in user names and passwords. Anything else in the URL is refused: a typo must stop the process at start, not be
 * ignored.
 */
export type RedisTarget = StandaloneTarget | SentinelTarget | ClusterTarget;
export type RedisRole = 'worker' | 'producer';

export interface RedisNode {
  host: string;
  port: number;
}
interface Credentials {
  username?: string;
  password?: string;
}
export interface StandaloneTarget extends Credentials {
  kind: 'standalone';
  node: RedisNode;
  db: number;
  tls: boolean;
}
export interface SentinelTarget extends Credentials {
  kind: 'sentinel';
  sentinels: RedisNode[];
  /** The master group name the sentinels monitor (`sentinel monitor <name> ...`). */
  name: string;
  db: number;
  tls: boolean;
  sentinelUsername?: string;
  sentinelPassword?: string;
}
export interface ClusterTarget extends Credentials {
  kind: 'cluster';
  /** Seed nodes: any reachable one is enough, the client learns the others from CLUSTER SLOTS. */
  nodes: RedisNode[];
  tls: boolean;
}

export class RedisUrlError extends Error {}

const DEFAULT_PORT = { standalone: 6379, sentinel: 26379, cluster: 6379 } as const;
const SENTINEL_PARAMS = ['sentinelUsername', 'sentinelPassword'] as const;

export function parseRedisUrl(url: string): RedisTarget {
  const form = /^(rediss?)(?:\+(sentinel|cluster))?:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/.exec(url);
  if (!form)
    throw new RedisUrlError(
      'REDIS_URL must be redis://host:port[/db], redis+sentinel://host:port[,host:port...]/name or ' +
        'redis+cluster://host:port[,host:port...] (rediss for TLS)',
    );
  const [, scheme, mode, authority, path, query = ''] = form;
  const kind = (mode ?? 'standalone') as RedisTarget['kind'];
  const tls = scheme === 'rediss';
  const at = authority.lastIndexOf('@');
  const credentials = at >= 0 ? parseUserInfo(authority.slice(0, at)) : {};
  const hostList = authority.slice(at + 1);
  const nodes = hostList === '' ? [] : hostList.split(',').map((h) => parseNode(h, DEFAULT_PORT[kind]));
  const trimmed = path.replace(/^\//, '').replace(/\/$/, '');
  const segments = trimmed === '' ? [] : trimmed.split('/');
  const params = new URLSearchParams(query);
  const allowed: readonly string[] = kind === 'sentinel' ? SENTINEL_PARAMS : [];
  for (const key of params.keys())
    if (!allowed.includes(key))
      throw new RedisUrlError(`REDIS_URL: unknown parameter "${key}" for ${scheme}${mode ? `+${mode}` : ''}://`);

  switch (kind) {
    case 'standalone': {
      if (nodes.length !== 1)
        throw new RedisUrlError(
          `REDIS_URL: ${scheme}:// names one server (${nodes.length} given); use ${scheme}+sentinel:// or ${scheme}+cluster:// for several`,
        );
      if (segments.length > 1) throw new RedisUrlError('REDIS_URL: the path of redis:// is the database number only');
      return { kind, node: nodes[0], db: parseDb(segments[0]), tls, ...credentials };
    }
    case 'sentinel': {
      if (nodes.length === 0) throw new RedisUrlError('REDIS_URL: redis+sentinel:// needs at least one sentinel');
      const [name, db, ...rest] = segments;
      if (!name || rest.length > 0)
        throw new RedisUrlError('REDIS_URL: redis+sentinel:// needs the master group name as its path: /name[/db]');
      const sentinelAuth = Object.fromEntries(
        SENTINEL_PARAMS.filter((k) => params.has(k)).map((k) => [k, params.get(k) as string]),
      );
      return { kind, sentinels: nodes, name: decode(name), db: parseDb(db), tls, ...credentials, ...sentinelAuth };
    }
    case 'cluster': {
      if (nodes.length === 0) throw new RedisUrlError('REDIS_URL: redis+cluster:// needs at least one node');
      if (segments.length > 0 && !(segments.length === 1 && segments[0] === '0'))
        throw new RedisUrlError('REDIS_URL: Redis Cluster has database 0 only; redis+cluster:// takes no path');
      return { kind, nodes, tls, ...credentials };
    }
  }
}

function parseUserInfo(userInfo: string): Credentials {
  const colon = userInfo.indexOf(':');
  const username = decode(colon >= 0 ? userInfo.slice(0, colon) : userInfo);
  const password = colon >= 0 ? decode(userInfo.slice(colon + 1)) : '';
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new RedisUrlError('REDIS_URL: a percent-encoded part is malformed');
  }
}

function parseNode(text: string, defaultPort: number): RedisNode {
  const node = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+))(?::(\d{1,5}))?$/.exec(text);
  const port = node?.[3] === undefined ? defaultPort : Number(node[3]);
  if (!node || port < 1 || port > 65535) throw new RedisUrlError(`REDIS_URL: "${text}" is not host[:port]`);
  return { host: node[1] ?? node[2], port };
}

function parseDb(segment: string | undefined): number {
  if (segment === undefined || segment === '') return 0;
  if (!/^\d{1,2}$/.test(segment)) throw new RedisUrlError(`REDIS_URL: database "${segment}" is not a number`);
  return Number(segment);
}

/**
 * BullMQ's Lua scripts touch many keys of a queue at once, which Redis Cluster allows only within one hash slot: on a
 * cluster the prefix must carry a hash tag (`{...}`, non-empty, the first one in the key) so every key of every
 * queue lands in the same slot. Refused at start rather than as CROSSSLOT errors on the first job.
 */
export function checkQueuePrefix(url: string, prefix: string): void {
  if (parseRedisUrl(url).kind !== 'cluster') return;
  const open = prefix.indexOf('{');
  const close = open >= 0 ? prefix.indexOf('}', open + 1) : -1;
  if (close <= open + 1)
    throw new RedisUrlError(`QUEUE_PREFIX "${prefix}" needs a {hash-tag} on Redis Cluster, e.g. "{${prefix}}"`);
}

/** A marker on BullMQ connection options: "build an ioredis Cluster from these seeds" (see clusterAwareFactory). */
export const CLUSTER_SEED = Symbol('sarcoma.redis.cluster-seed');
export interface ClusterSeed {
  nodes: RedisNode[];
  options: Omit<ClusterOptions, 'redisOptions'>;
}
/** What `connection:` of a BullMQ Queue or Worker gets from redisConnection. */
export type RedisConnectionOptions = RedisOptions & { [CLUSTER_SEED]?: ClusterSeed };

/**
 * BullMQ connection options from REDIS_URL, for every caller (BullModule, the api's producer queues, scripts,
 * tests, benchmarks). Workers block on Redis and must retry forever (`maxRetriesPerRequest: null`); producers fail
 * fast instead of queueing commands while Redis is down (`enableOfflineQueue: false`), so the caller learns at once
 * that an event was not accepted.
 *
 * Options rather than a client: BullMQ then makes, duplicates (a worker's blocking connection) and closes each
 * connection itself, whatever the topology. Sentinel is plain ioredis options. A cluster needs an ioredis `Cluster`,
 * which BullMQ does not build from options: the options carry the seed nodes under CLUSTER_SEED, and BullMQ's
 * documented client factory hook (installed on first use) turns them into a Cluster.
 */
export function redisConnection(url: string, role: RedisRole): RedisConnectionOptions {
  const target = parseRedisUrl(url);
  if (target.kind !== 'cluster') return nodeOptions(target, role);
  installClusterAwareFactory();
  return { ...nodeOptions(target, role), [CLUSTER_SEED]: clusterSeed(target, role) };
}

/** An ioredis client of one's own (Redis, or Cluster for redis+cluster://), e.g. for a producer queue or a probe. */
export function createRedisClient(url: string, role: RedisRole): Redis | Cluster {
  const target = parseRedisUrl(url);
  const options = nodeOptions(target, role);
  if (target.kind !== 'cluster') return new Redis(options);
  const seed = clusterSeed(target, role);
  return new Cluster(seed.nodes, { ...seed.options, redisOptions: options });
}

/** Options for one connection to a server (for a cluster: to each node). */
function nodeOptions(target: RedisTarget, role: RedisRole): RedisOptions {
  const common: RedisOptions = {
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
  };
  const roleOptions: RedisOptions =
    role === 'worker' ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1, enableOfflineQueue: false };
  switch (target.kind) {
    case 'standalone':
      return {
        host: target.node.host,
        port: target.node.port,
        ...(target.db ? { db: target.db } : {}),
        ...common,
        ...roleOptions,
      };
    case 'sentinel':
      return {
        sentinels: target.sentinels,
        name: target.name,
        role: 'master',
        ...(target.db ? { db: target.db } : {}),
        ...(target.sentinelUsername ? { sentinelUsername: target.sentinelUsername } : {}),
        ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
        ...(target.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
        // Every reconnect asks the sentinels for the primary again, so it must keep trying at a steady pace:
        // BullMQ's own default backs off to 20 s, which would follow a failover that late.
        retryStrategy: (times: number) => Math.min(100 * times, 1000),
        // A primary demoted to replica (the old one back after a failover, or a manual SENTINEL FAILOVER) answers
        // writes with READONLY: reconnect, which asks the sentinels again, and resend the command.
        reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 2 : false),
        ...common,
        ...roleOptions,
      };
    case 'cluster':
      return { ...common, ...roleOptions };
  }
}

function clusterSeed(target: ClusterTarget, role: RedisRole): ClusterSeed {
  return {
    nodes: target.nodes,
    options: {
      // writes and Lua scripts (all of BullMQ) go to masters anyway; reads too, so a worker never sees a stale replica
      scaleReads: 'master',
      ...(role === 'producer' ? { enableOfflineQueue: false } : {}),
    },
  };
}

let installed = false;

/**
 * Lets BullMQ build a Cluster from options marked with CLUSTER_SEED; anything else is built as BullMQ itself would
 * (or by a factory someone installed before). Process-wide, installed once, on the first redis+cluster:// URL.
 */
function installClusterAwareFactory(): void {
  if (installed) return;
  installed = true;
  const previous = RedisConnection.clientFactory;
  RedisConnection.clientFactory = (opts): IRedisClient => {
    const { [CLUSTER_SEED]: seed, ...redisOptions } = opts as RedisConnectionOptions;
    if (seed) return createIORedisClient(new Cluster(seed.nodes, { ...seed.options, redisOptions }));
    if (previous) return previous(opts);
    const { url, ...rest } = opts;
    return createIORedisClient(url ? new Redis(url, rest) : new Redis(rest));
  };
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
  checkQueuePrefix(redisUrl, prefix);
  const client = createRedisClient(redisUrl, 'producer');
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
