import { EventEmitter } from 'node:events';
import type { HttpRequest } from './http-types';
import { clientAddress, intakeKey, rateLimits, TokenBuckets } from './rate-limit';

// Pure: the buckets on a fake monotonic clock, and the middleware on fake requests and responses.

describe('TokenBuckets', () => {
  it('lets a key spend its capacity at once, then one token per window/capacity, and says how long to wait', () => {
    let now = 0;
    const buckets = new TokenBuckets(3, 60_000, 100, () => now);
    expect([buckets.take('a'), buckets.take('a'), buckets.take('a')]).toEqual([0, 0, 0]);
    expect(buckets.take('a')).toBe(20_000); // one token every 20 s
    expect(buckets.waitMs('b')).toBe(0); // keys do not share
    now += 19_999;
    expect(buckets.waitMs('a')).toBe(1);
    now += 1;
    expect(buckets.take('a')).toBe(0);
    expect(buckets.take('a')).toBe(20_000);
  });

  it('never holds more than capacity, however long a key was idle', () => {
    let now = 0;
    const buckets = new TokenBuckets(2, 1000, 100, () => now);
    buckets.take('a');
    now += 1_000_000;
    expect([buckets.take('a'), buckets.take('a'), buckets.take('a')]).toEqual([0, 0, 500]);
  });

  it('forgets the least recently used key past maxKeys (bounded memory)', () => {
    const buckets = new TokenBuckets(1, 60_000, 3, () => 0);
    for (const key of ['a', 'b', 'c']) buckets.take(key);
    buckets.take('a'); // a is now the most recent: b, c, a
    buckets.take('d'); // b, the least recent, is forgotten: c, a, d
    expect(buckets.size).toBe(3);
    expect(buckets.waitMs('a')).toBeGreaterThan(0); // a is still spent: c, d, a
    expect(buckets.waitMs('b')).toBe(0); // b comes back fresh, c goes: d, a, b
    expect(buckets.waitMs('a')).toBeGreaterThan(0);
    expect(buckets.size).toBe(3);
  });
});

describe('clientAddress and intakeKey', () => {
  it('counts IPv4-mapped addresses as IPv4 and IPv6 by its /64', () => {
    expect(clientAddress({ ip: '::ffff:10.1.2.3' })).toBe('10.1.2.3');
    expect(clientAddress({ ip: '2001:db8:1:2:aaaa::1' })).toBe('2001:db8:1:2::/64');
    expect(clientAddress({ ip: '2001:db8:1:2:bbbb:cccc:dddd:eeee' })).toBe('2001:db8:1:2::/64');
    expect(clientAddress({ ip: '::1' })).toBe('0:0:0:0::/64');
    expect(clientAddress({ socket: { remoteAddress: '127.0.0.1' } })).toBe('127.0.0.1');
  });

  it('keys intake by a hash prefix of the API key (never the key), else by address', () => {
    const bearer = intakeKey({ headers: { authorization: 'Bearer s3cret-key' }, ip: '10.0.0.1' });
    expect(bearer).toMatch(/^key:[0-9a-f]{16}$/);
    expect(bearer).not.toContain('s3cret');
    expect(intakeKey({ headers: { 'x-api-key': ' s3cret-key ' }, ip: '10.0.0.2' })).toBe(bearer);
    expect(intakeKey({ headers: {}, ip: '10.0.0.1' })).toBe('ip:10.0.0.1');
  });
});

class FakeResponse extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  headers: Record<string, string> = {};
  body: string | undefined;
  setHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  end(body?: string) {
    this.body = body;
    this.emit('finish');
  }
}

function run(limit: ReturnType<typeof rateLimits>, request: Partial<HttpRequest>, answer = 200) {
  const response = new FakeResponse();
  let passed = false;
  limit({ method: 'GET', url: '/worklist', headers: {}, ip: '10.9.9.9', ...request } as HttpRequest, response, () => {
    passed = true;
    response.statusCode = answer;
    response.end();
  });
  return { passed, response };
}

describe('rateLimits middleware', () => {
  const settings = { RATE_LIMIT_WINDOW_SECONDS: 60, AUTH_FAILURE_LIMIT: 2, INTAKE_RATE_LIMIT: 3 };

  it('after AUTH_FAILURE_LIMIT 401s to requests with a key, answers 429 with Retry-After to that address only', () => {
    let now = 0;
    const limit = rateLimits(settings, () => now);
    const withKey = { headers: { authorization: 'Bearer guess' } };
    expect(run(limit, withKey, 401).passed).toBe(true);
    expect(run(limit, withKey, 401).passed).toBe(true);
    const refused = run(limit, withKey);
    expect(refused.passed).toBe(false);
    expect(refused.response.statusCode).toBe(429);
    expect(refused.response.headers['Retry-After']).toBe('30');
    expect(JSON.parse(refused.response.body!)).toEqual({
      statusCode: 429,
      message: 'too many failed authentications from this address: retry after 30 s',
    });
    // no credential: not a guess, the guard answers it (401) as usual; another address is not affected
    expect(run(limit, { headers: {} }, 401).passed).toBe(true);
    expect(run(limit, { ...withKey, ip: '10.9.9.10' }).passed).toBe(true);
    // 403 and 200 do not count; time refills
    now += 30_000;
    expect(run(limit, withKey, 200).passed).toBe(true);
  });

  it('limits POST /events, /hl7/v2 and /fhir per key, whatever the path case, and nothing else', () => {
    const limit = rateLimits(settings, () => 0);
    const key = { headers: { authorization: 'Bearer integration' }, method: 'POST' };
    expect(run(limit, { ...key, url: '/events' }).passed).toBe(true);
    expect(run(limit, { ...key, url: '/HL7/v2/' }).passed).toBe(true);
    expect(run(limit, { ...key, url: '/fhir?x=1' }).passed).toBe(true);
    const refused = run(limit, { ...key, url: '/events' });
    expect(refused.response.statusCode).toBe(429);
    expect(refused.response.headers['Retry-After']).toBe('20');
    const fhir = run(limit, { ...key, url: '/fhir' });
    expect(JSON.parse(fhir.response.body!)).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ code: 'throttled' }],
    });
    expect(run(limit, { ...key, url: '/tasks/x/accept' }).passed).toBe(true);
    expect(run(limit, { ...key, method: 'GET', url: '/fhir' }).passed).toBe(true);
    expect(run(limit, { headers: { authorization: 'Bearer another' }, method: 'POST', url: '/events' }).passed).toBe(
      true,
    );
  });

  it('does nothing with both limits at 0', () => {
    const limit = rateLimits({ RATE_LIMIT_WINDOW_SECONDS: 60, AUTH_FAILURE_LIMIT: 0, INTAKE_RATE_LIMIT: 0 });
    for (let i = 0; i < 100; i += 1)
      expect(run(limit, { headers: { authorization: 'Bearer x' }, method: 'POST', url: '/events' }, 401).passed).toBe(
        true,
      );
  });
});
