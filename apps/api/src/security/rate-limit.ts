import { createHash } from 'node:crypto';
import type { HttpRequest, HttpResponse, Next } from './http-types';

/**
 * Token buckets, one per key (a client address, an API key's hash prefix): `capacity` tokens, refilled at `capacity`
 * per window, so a key may spend `capacity` at once and `capacity` per window after that. Memory is bounded: past
 * `maxKeys` the least recently used bucket is forgotten (a full bucket loses nothing; an attacker who rotates through
 * more than `maxKeys` addresses can lift an address's block early, which the limit on keys makes costly). Per process:
 * with several api processes each counts on its own. Time is the process's monotonic clock, not the clinical clock.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;

  constructor(
    readonly capacity: number,
    windowMs: number,
    private readonly maxKeys = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.perMs = capacity / windowMs;
  }

  /** Milliseconds until `key` has a token again; 0 when it has one now. Spends nothing. */
  waitMs(key: string): number {
    const bucket = this.refill(key);
    return bucket.tokens >= 1 ? 0 : Math.ceil((1 - bucket.tokens) / this.perMs);
  }

  /** Spends a token of `key` if it has one: 0; otherwise the milliseconds until it will have one. */
  take(key: string): number {
    const bucket = this.refill(key);
    if (bucket.tokens < 1) return Math.ceil((1 - bucket.tokens) / this.perMs);
    bucket.tokens -= 1;
    return 0;
  }

  /** How many keys are tracked (bounded by maxKeys). */
  get size(): number {
    return this.buckets.size;
  }

  private refill(key: string): { tokens: number; at: number } {
    const now = this.now();
    const found = this.buckets.get(key);
    const bucket = found ?? { tokens: this.capacity, at: now };
    bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    // most recently used last: Map keeps insertion order, so the first key is the one to forget
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    return bucket;
  }
}

export interface RateLimitSettings {
  RATE_LIMIT_WINDOW_SECONDS: number;
  AUTH_FAILURE_LIMIT: number;
  INTAKE_RATE_LIMIT: number;
}

/** POST /events, /hl7/v2, /fhir (Express matches paths case-insensitively, with or without a trailing slash). */
export const INTAKE_PATH = /^\/(events|hl7\/v2|fhir)\/?$/i;

/**
 * The client a limit counts: the address Express gives (the TCP peer, or X-Forwarded-For's client under TRUST_PROXY),
 * an IPv4-mapped IPv6 address as IPv4, an IPv6 address by its /64 (one host owns a whole /64).
 */
export function clientAddress(request: Pick<HttpRequest, 'ip' | 'socket'>): string {
  const raw = request.ip ?? request.socket?.remoteAddress ?? 'unknown';
  const address = raw.startsWith('::ffff:') ? raw.slice(7) : raw;
  if (!address.includes(':')) return address;
  const groups = expandIpv6(address);
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : address;
}

function expandIpv6(address: string): string[] | null {
  const [head, tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail !== undefined && tail !== '' ? tail.split(':') : [];
  if (tail === undefined && left.length !== 8) return null;
  return [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
}

/** Whether the request sends a credential (a key, or a password as the queues board takes it). */
export function sendsCredential(request: Pick<HttpRequest, 'headers'>): boolean {
  return typeof request.headers.authorization === 'string' || typeof request.headers['x-api-key'] === 'string';
}

/** What the intake limit counts: a prefix of the presented key's SHA-256 (never the key), else the client address. */
export function intakeKey(request: Pick<HttpRequest, 'headers' | 'ip' | 'socket'>): string {
  const authorization = request.headers.authorization;
  const secret =
    (typeof authorization === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined) ??
    (typeof request.headers['x-api-key'] === 'string' ? request.headers['x-api-key'].trim() : undefined);
  return secret
    ? `key:${createHash('sha256').update(secret).digest('hex').slice(0, 16)}`
    : `ip:${clientAddress(request)}`;
}

/**
 * Express middleware, ahead of body parsing, the queues board and the guard:
 * - **authentication failures**: a 401 answered to a request that sent a credential spends a token of its client
 *   address; an address with none left gets 429 (Retry-After) for every request that sends a credential, so keys
 *   cannot be guessed at speed, and a flood of bad keys costs no key lookups;
 * - **intake**: POST /events, /hl7/v2 and /fhir spend a token of the API key (its hash prefix) or, without one, of
 *   the client address; none left: 429 with Retry-After, before the body is read.
 */
export function rateLimits(settings: RateLimitSettings, now?: () => number) {
  const windowMs = settings.RATE_LIMIT_WINDOW_SECONDS * 1000;
  const failures =
    settings.AUTH_FAILURE_LIMIT > 0 ? new TokenBuckets(settings.AUTH_FAILURE_LIMIT, windowMs, 10_000, now) : null;
  const intake =
    settings.INTAKE_RATE_LIMIT > 0 ? new TokenBuckets(settings.INTAKE_RATE_LIMIT, windowMs, 10_000, now) : null;

  return function rateLimit(request: HttpRequest, response: HttpResponse, next: Next): void {
    const credential = sendsCredential(request);
    if (failures && credential) {
      const address = clientAddress(request);
      const wait = failures.waitMs(address);
      if (wait > 0) return tooMany(request, response, wait, 'too many failed authentications from this address');
      response.on('finish', () => {
        if (response.statusCode === 401) failures.take(address);
      });
    }
    if (intake && request.method === 'POST' && INTAKE_PATH.test(pathOf(request))) {
      const wait = intake.take(intakeKey(request));
      if (wait > 0) return tooMany(request, response, wait, 'intake rate limit reached for this key');
    }
    next();
  };
}

export function pathOf(request: Pick<HttpRequest, 'originalUrl' | 'url'>): string {
  return (request.originalUrl ?? request.url ?? '').split('?')[0];
}

function tooMany(request: HttpRequest, response: HttpResponse, waitMs: number, why: string): void {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  const message = `${why}: retry after ${seconds} s`;
  response.statusCode = 429;
  response.setHeader('Retry-After', String(seconds));
  if (/^\/fhir\b/i.test(pathOf(request))) {
    response.setHeader('Content-Type', 'application/fhir+json; charset=utf-8');
    response.end(
      JSON.stringify({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'throttled', diagnostics: message }],
      }),
    );
  } else {
    response.setHeader('Content-Type', 'application/json; charset=utf-8');
    response.end(JSON.stringify({ statusCode: 429, message }));
  }
}
