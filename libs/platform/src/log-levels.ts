import type { LoggerService, LogLevel } from '@nestjs/common';
import { JsonLogger } from './json-logger';

const ORDER: LogLevel[] = ['error', 'warn', 'log', 'debug'];

/** Nest logger levels at or above the configured LOG_LEVEL. */
export function logLevels(level: 'error' | 'warn' | 'log' | 'debug'): LogLevel[] {
  return ORDER.slice(0, ORDER.indexOf(level) + 1);
}

/** The logger option for NestFactory: JSON lines (LOG_FORMAT=json) or Nest's readable console, at LOG_LEVEL. */
export function appLogger(
  app: 'api' | 'worker',
  config: { LOG_LEVEL: 'error' | 'warn' | 'log' | 'debug'; LOG_FORMAT: 'json' | 'text' },
): LoggerService | LogLevel[] {
  return config.LOG_FORMAT === 'json' ? new JsonLogger(app, config.LOG_LEVEL) : logLevels(config.LOG_LEVEL);
}
