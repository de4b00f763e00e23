import type { LogLevel } from '@nestjs/common';

const ORDER: LogLevel[] = ['error', 'warn', 'log', 'debug'];

/** Nest logger levels at or above the configured LOG_LEVEL. */
export function logLevels(level: 'error' | 'warn' | 'log' | 'debug'): LogLevel[] {
  return ORDER.slice(0, ORDER.indexOf(level) + 1);
}
