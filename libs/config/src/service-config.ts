import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, validateSync } from 'class-validator';
import { DEFAULT_QUEUE_PREFIX } from '@app/contracts';

/**
 * Runtime configuration, read from the environment and validated at start. Every value has a safe local
 * default so that `npm run demo` works on a machine with Redis and PostgreSQL on their standard ports.
 */
export class ServiceConfig {
  @IsString()
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/sarcoma';

  /**
   * One Redis: redis://[user:pass@]host:6379[/db]. Sentinel: redis+sentinel://[user:pass@]host:26379,host:26379/name
   * (the primary of master group `name`; ?sentinelPassword= when the sentinels have one). Redis Cluster:
   * redis+cluster://[user:pass@]host:port,host:port (seed nodes; set QUEUE_PREFIX to a {hash-tag}). rediss: TLS.
   * Parsed in full, with a message naming what is wrong, by parseRedisUrl (libs/platform/src/redis.ts).
   */
  @IsString()
  @Matches(/^rediss?(\+(sentinel|cluster))?:\/\/[^/?#]/, {
    message: 'REDIS_URL must be a redis://, redis+sentinel:// or redis+cluster:// URL (rediss for TLS)',
  })
  REDIS_URL = 'redis://127.0.0.1:6379';

  /**
   * The api acknowledges an event (HTTP 202, HL7 AA, FHIR 200) only once this many Redis replicas have it (Redis WAIT):
   * with a replica under Sentinel, 1 means a failover cannot lose an acknowledged event (replication is asynchronous).
   * 0 (default): acknowledged once the primary has it. Not with Redis Cluster (WAIT would reach a random node).
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10)
  REDIS_WAIT_REPLICAS = 0;

  /** How long the api waits for REDIS_WAIT_REPLICAS before answering 503 (a resend is safe: same event id). */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(60000)
  REDIS_WAIT_TIMEOUT_MS = 1000;

  /** BullMQ key prefix (use a {hash-tag} for Redis Cluster). */
  @IsString()
  @Matches(/^[A-Za-z0-9_{}-]+$/, { message: 'QUEUE_PREFIX may hold letters, digits, _ - { } only' })
  QUEUE_PREFIX = DEFAULT_QUEUE_PREFIX;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT = 3000;

  /** Clinical events processed at once per worker process (different patients run in parallel). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(256)
  WORKER_CONCURRENCY = 16;

  /**
   * What this worker process does, comma-separated: `events` (the clinical-events and backfill queues), `notifications`
   * (routing new tasks, alerts, email), `timers` (the sweeper, escalation steps). All three by default; give email its
   * own process (`notifications`) so composing and sending mail never shares an event loop with the event door.
   * Every role relays the outbox. A deployment must run each role in at least one process.
   */
  @IsString()
  @Matches(/^(events|notifications|timers)(,(events|notifications|timers))*$/, {
    message: 'WORKER_ROLES is a comma-separated list of events, notifications, timers',
  })
  WORKER_ROLES = 'events,notifications,timers';

  /**
   * Emails for what a backfill (the clinical-events-backfill queue) leaves open: its tasks go to worklists either way.
   * `urgent` (default): only urgent tasks (and the care-team alerts about them) are emailed; `all`: every one, as for
   * live events; `none`: none. Years of history would otherwise mean an email per open task: 182,000 for 100,000
   * patients, about work the navigators see on their worklist anyway (docs/events.md, Backfills).
   */
  @IsIn(['urgent', 'all', 'none'])
  BACKFILL_EMAILS: 'urgent' | 'all' | 'none' = 'urgent';

  /**
   * A member to whom one sweep assigns more non-urgent surveillance tasks than this gets one digest email listing
   * them (the first 25, high priority first, and a link to the worklist) instead of one email each; 0: always one
   * each. Urgent tasks are always emailed one by one, at once (docs/navigation.md, "Many surveillance tasks at once").
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  EMAIL_DIGEST_AFTER = 10;

  /** Backfill batches applied at once by one worker (each is one transaction of up to 1,000 events). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(16)
  BACKFILL_CONCURRENCY = 2;

  @Type(() => Number)
  @IsInt()
  @Min(2)
  @Max(200)
  PG_POOL_SIZE = 20;

  /** Outbox relay: how often to look for unpublished rows when idle (ms). */
  @Type(() => Number)
  @IsInt()
  @Min(5)
  @Max(60000)
  OUTBOX_POLL_MS = 50;

  /** Bounded graceful shutdown: in-flight work gets this long before the process exits anyway. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(120000)
  SHUTDOWN_TIMEOUT_MS = 10000;

  /** Email: SMTP when set (smtp://user:pass@host:587); otherwise `.eml` files in MAIL_OUTBOX_DIR. */
  @IsOptional()
  @IsString()
  @Matches(/^smtps?:\/\//, { message: 'SMTP_URL must be an smtp:// or smtps:// URL' })
  SMTP_URL?: string;

  /** Where emails are written as `.eml` files when SMTP_URL is not set (the demo's mail outbox). */
  @IsString()
  MAIL_OUTBOX_DIR = 'var/mail-outbox';

  @IsString()
  MAIL_FROM = 'Sarcoma pathway <no-reply@sarcoma-pathway.invalid>';

  /** Base of the links in emails (the api, or the worklist page in front of it). */
  @IsString()
  @Matches(/^https?:\/\//, { message: 'PUBLIC_BASE_URL must be an http(s):// URL' })
  PUBLIC_BASE_URL = 'http://localhost:3000';

  /** The sweeper (re-derives surveillance due/overdue items, escalations, unrouted tasks, unsent email) runs this often (ms). */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(24 * 3600 * 1000)
  SWEEP_EVERY_MS = 300000;

  /**
   * Routing rules as JSON, overriding the defaults per task type (libs/navigation/src/routing.ts), e.g.
   * {"byType":{"imaging-order":{"team":"radiology-desk","careTeamFirst":true}},"fallbackTeam":"navigators"}.
   */
  @IsOptional()
  @IsString()
  ROUTING_RULES?: string;

  /** HL7 v2 over MLLP (TCP): the port labs point their interface engine at; 0 picks a free port (tests). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  MLLP_PORT = 2575;

  /** Interface the MLLP listener binds to. */
  @IsString()
  MLLP_HOST = '0.0.0.0';

  /** UTC offset of HL7 timestamps that carry none (the labs' local time), e.g. +01:00. */
  @IsString()
  @Matches(/^[+-]\d{2}:\d{2}$/, { message: 'HL7_DEFAULT_UTC_OFFSET must look like +01:00' })
  HL7_DEFAULT_UTC_OFFSET = '+00:00';

  /** The worker's Prometheus endpoint (GET /metrics); 0 picks a free port (tests). The api serves /metrics itself. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  METRICS_PORT = 9464;

  @IsString()
  METRICS_HOST = '0.0.0.0';

  @IsIn(['debug', 'log', 'warn', 'error'])
  LOG_LEVEL: 'debug' | 'log' | 'warn' | 'error' = 'log';

  /** json: one JSON object per line (pino) for a log pipeline; text: Nest's readable console (the default). */
  @IsIn(['json', 'text'])
  LOG_FORMAT: 'json' | 'text' = 'text';

  /**
   * Browser origins allowed to call the api cross-origin (CORS), comma-separated, e.g.
   * `https://worklist.hospital.example`. Unset: none; the worklist page at /app/ is same-origin and needs none.
   */
  @IsOptional()
  @IsString()
  @Matches(/^\s*https?:\/\/[^\s,/]+(\s*,\s*https?:\/\/[^\s,/]+)*\s*$/, {
    message: 'CORS_ORIGINS must be a comma-separated list of origins such as https://worklist.hospital.example',
  })
  CORS_ORIGINS?: string;

  /**
   * Express's `trust proxy`: unset, the client address is the TCP peer's. Behind a reverse proxy that sets
   * X-Forwarded-For, name it (`loopback`, `10.0.0.0/8`, a hop count such as `1`): rate limits count per client address.
   */
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9.:/, -]+$/, { message: 'TRUST_PROXY is an address list, a subnet, a hop count or loopback' })
  TRUST_PROXY?: string;

  /** The window rate limits count in (seconds): AUTH_FAILURE_LIMIT and INTAKE_RATE_LIMIT are per window. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3600)
  RATE_LIMIT_WINDOW_SECONDS = 60;

  /**
   * Authentication failures (401 to a request that sent a key or a password) per client address per window; past it,
   * every request from that address that sends a credential is answered 429 with Retry-After. 0: no limit.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  AUTH_FAILURE_LIMIT = 30;

  /** POST /events, /hl7/v2 and /fhir per API key (per client address without one) per window; 0: no limit. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  INTAKE_RATE_LIMIT = 6000;

  /**
   * When set, POST /events, /hl7/v2 and /fhir require `X-Signature-Timestamp` and `X-Signature: sha256=<hex>`, an
   * HMAC-SHA256 of `<timestamp>.<raw body>` with this secret (docs/events.md). At least 32 characters.
   */
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'INTAKE_HMAC_SECRET must be at least 32 characters' })
  INTAKE_HMAC_SECRET?: string;

  /** How far X-Signature-Timestamp may be from the api's clock (seconds): an older signed request is a replay. */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(3600)
  INTAKE_HMAC_MAX_SKEW_SECONDS = 300;

  /** MLLP connections open at once (the labs' interface engines); more are refused when they connect. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  MLLP_MAX_CONNECTIONS = 100;

  /**
   * Key of the hash that stands for a patient id in logs (patientRef). Set a secret per deployment: with the
   * default, anyone who has the code can test a guessed id against a log line.
   */
  @IsString()
  LOG_HASH_KEY = 'local-development-only';
}

export class ConfigError extends Error {}

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<ServiceConfig> = {},
): ServiceConfig {
  const known = Object.keys(new ServiceConfig());
  const present: Record<string, unknown> = {};
  for (const key of known) if (env[key] !== undefined && env[key] !== '') present[key] = env[key];
  const config = plainToInstance(ServiceConfig, { ...present, ...overrides });
  const errors = validateSync(config);
  if (errors.length > 0) {
    const lines = errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join(', ')}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  if (config.REDIS_WAIT_REPLICAS > 0 && /^rediss?\+cluster:/.test(config.REDIS_URL))
    throw new ConfigError(
      'Invalid configuration:\n  REDIS_WAIT_REPLICAS: not with Redis Cluster (WAIT would reach a random node); leave it 0',
    );
  return config;
}

export type WorkerRole = 'events' | 'notifications' | 'timers';

/** The roles WORKER_ROLES gives this worker process. */
export function workerRoles(config: Pick<ServiceConfig, 'WORKER_ROLES'>): Set<WorkerRole> {
  return new Set(config.WORKER_ROLES.split(',') as WorkerRole[]);
}
