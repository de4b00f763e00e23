import { MigrationsHealthIndicator, PostgresHealthIndicator } from './postgres.health';
import { QueuesHealthIndicator, RedisHealthIndicator } from './redis.health';

/** Providers for the api module (they need its PG pool and its clinical-events queue). */
export const HEALTH_INDICATORS = [
  PostgresHealthIndicator,
  MigrationsHealthIndicator,
  RedisHealthIndicator,
  QueuesHealthIndicator,
];
