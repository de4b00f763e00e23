import { ConfigError, loadConfig } from '@app/config';
import { checkQueuePrefix, CLUSTER_SEED, parseRedisUrl, redisConnection, RedisUrlError } from './redis';

describe('parseRedisUrl', () => {
  it('reads one server: host, default port, database, credentials (percent-decoded), TLS', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379')).toEqual({
      kind: 'standalone',
      node: { host: '127.0.0.1', port: 6379 },
      db: 0,
      tls: false,
    });
    expect(parseRedisUrl('rediss://app:p%40ss%2Fw0rd@cache.internal/3')).toEqual({
      kind: 'standalone',
      node: { host: 'cache.internal', port: 6379 },
      db: 3,
      tls: true,
      username: 'app',
      password: 'p@ss/w0rd',
    });
    expect(parseRedisUrl('redis://:secret@[::1]:7000/')).toMatchObject({
      node: { host: '::1', port: 7000 },
      password: 'secret',
    });
  });

  it('reads Sentinel: the sentinels (default port 26379), the master group name, a database, sentinel credentials', () => {
    expect(parseRedisUrl('redis+sentinel://s1:26379,s2,10.0.0.3:26380/mymaster')).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
        { host: '10.0.0.3', port: 26380 },
      ],
      name: 'mymaster',
      db: 0,
      tls: false,
    });
    expect(
      parseRedisUrl('rediss+sentinel://:data-pw@s1/my%20master/2?sentinelUsername=watch&sentinelPassword=s%26cret'),
    ).toEqual({
      kind: 'sentinel',
      sentinels: [{ host: 's1', port: 26379 }],
      name: 'my master',
      db: 2,
      tls: true,
      password: 'data-pw',
      sentinelUsername: 'watch',
      sentinelPassword: 's&cret',
    });
  });

  it('reads a cluster: seed nodes and credentials, database 0 only', () => {
    expect(parseRedisUrl('redis+cluster://u:p@n1:7000,n2:7001,n3:7002')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
        { host: 'n3', port: 7002 },
      ],
      tls: false,
      username: 'u',
      password: 'p',
    });
    expect(parseRedisUrl('rediss+cluster://n1/0')).toMatchObject({ nodes: [{ host: 'n1', port: 6379 }], tls: true });
  });

  it.each([
    ['http://x:6379', /must be redis:\/\//],
    ['redis+sentinal://s1/m', /must be redis:\/\//],
    ['redis://', /names one server \(0 given\)/],
    ['redis://a:6379,b:6379', /use redis\+sentinel:\/\/ or redis\+cluster:\/\//],
    ['redis://a/x', /database "x" is not a number/],
    ['redis://a/1/2', /database number only/],
    ['redis://a:0', /"a:0" is not host\[:port\]/],
    ['redis://a:70000', /"a:70000" is not host\[:port\]/],
    ['redis://a:b', /"a:b" is not host\[:port\]/],
    ['redis://a?family=6', /unknown parameter "family"/],
    ['redis+sentinel://s1:26379', /needs the master group name/],
    ['redis+sentinel://s1/m/0/1', /needs the master group name/],
    ['redis+sentinel:///m', /at least one sentinel/],
    ['redis+sentinel://s1/m?sentinelPasword=x', /unknown parameter "sentinelPasword"/],
    ['redis+cluster://n1:7000/1', /database 0 only/],
    ['redis+cluster://', /at least one node/],
    ['redis://u:%E0%A4%A@a', /percent-encoded part is malformed/],
  ])('refuses %s, saying what is wrong', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(RedisUrlError);
    expect(() => parseRedisUrl(url)).toThrow(message);
  });
});

describe('redisConnection', () => {
  it('keeps the worker / producer distinction for one server', () => {
    expect(redisConnection('redis://h:6380/1', 'worker')).toEqual({
      host: 'h',
      port: 6380,
      db: 1,
      maxRetriesPerRequest: null,
    });
    expect(redisConnection('rediss://u:p@h', 'producer')).toEqual({
      host: 'h',
      port: 6379,
      username: 'u',
      password: 'p',
      tls: {},
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    });
  });

  it('gives ioredis Sentinel options that ask the sentinels again on every reconnect and leave a demoted primary', () => {
    const options = redisConnection(
      'rediss+sentinel://:pw@s1:26379,s2:26379/mymaster/1?sentinelPassword=spw',
      'producer',
    );
    expect(options).toMatchObject({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      name: 'mymaster',
      role: 'master',
      db: 1,
      password: 'pw',
      sentinelPassword: 'spw',
      tls: {},
      enableTLSForSentinelMode: true,
      sentinelTLS: {},
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    });
    expect(options).not.toHaveProperty('host');
    // a steady retry (BullMQ's own default grows to 20 s), so a failover is followed within a second of the switch
    expect([1, 5, 10, 100].map((n) => options.retryStrategy!(n))).toEqual([100, 500, 1000, 1000]);
    const reconnectOnError = options.reconnectOnError as (err: Error) => boolean | 1 | 2;
    expect(reconnectOnError(new Error("READONLY You can't write against a read only replica."))).toBe(2);
    expect(reconnectOnError(new Error('ERR unknown command'))).toBe(false);
    expect(redisConnection('redis+sentinel://s1/m', 'worker')).toMatchObject({ maxRetriesPerRequest: null });
  });

  it('marks cluster options with the seed nodes, per-node options apart, for the Cluster BullMQ will be given', () => {
    const worker = redisConnection('redis+cluster://u:p@n1:7000,n2:7001', 'worker');
    expect(worker).toEqual({
      username: 'u',
      password: 'p',
      maxRetriesPerRequest: null,
      [CLUSTER_SEED]: expect.anything(),
    });
    expect(worker[CLUSTER_SEED]).toEqual({
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
      ],
      options: { scaleReads: 'master' },
    });
    const producer = redisConnection('redis+cluster://n1:7000', 'producer');
    expect(producer).toMatchObject({ maxRetriesPerRequest: 1, enableOfflineQueue: false });
    expect(producer[CLUSTER_SEED]!.options).toEqual({ scaleReads: 'master', enableOfflineQueue: false });
    // BullMQ copies connection options with spread and Object.assign before it builds a client: the marker survives
    expect(Object.assign({}, { ...producer, connectionName: 'x' })[CLUSTER_SEED]).toBe(producer[CLUSTER_SEED]);
  });
});

describe('REDIS_URL in the service configuration', () => {
  it('accepts the three forms and refuses anything else at start', () => {
    for (const url of ['redis://h:6379', 'rediss+sentinel://s1,s2/m', 'redis+cluster://n1:7000,n2:7001'])
      expect(loadConfig({ REDIS_URL: url }).REDIS_URL).toBe(url);
    for (const url of ['http://h', 'redis+sentinel:///m', 'redis:/h', 'unix:///tmp/redis.sock'])
      expect(() => loadConfig({ REDIS_URL: url })).toThrow(ConfigError);
  });
});

describe('checkQueuePrefix', () => {
  it('wants a {hash-tag} in QUEUE_PREFIX on a cluster only', () => {
    expect(() => checkQueuePrefix('redis+cluster://n1:7000', 'sarcoma')).toThrow(/needs a \{hash-tag\}.*"\{sarcoma\}"/);
    expect(() => checkQueuePrefix('redis+cluster://n1:7000', 'sarcoma{}')).toThrow(RedisUrlError);
    expect(() => checkQueuePrefix('redis+cluster://n1:7000', 'sar}coma{')).toThrow(RedisUrlError);
    for (const prefix of ['{sarcoma}', 'prod-{sarcoma}', '{a}b{c}'])
      expect(() => checkQueuePrefix('redis+cluster://n1:7000', prefix)).not.toThrow();
    expect(() => checkQueuePrefix('redis://h', 'sarcoma')).not.toThrow();
    expect(() => checkQueuePrefix('redis+sentinel://s1/m', 'sarcoma')).not.toThrow();
  });
});
