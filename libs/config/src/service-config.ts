import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, validateSync } from 'class-validator';
import { DEFAULT_QUEUE_PREFIX } from '@app/contracts';

/**
 * Runtime configuration, read from the environment and validated at start. Every value has a safe local
 * default so that `npm run demo` works on a machine with Redis and PostgreSQL on their standard ports.
 */
export class ServiceConfig {
  @IsString()
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/sarcoma';

  @IsString()
  @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must be a redis:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

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
  return config;
}
