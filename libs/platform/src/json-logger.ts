import { createHmac } from 'node:crypto';
import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Logger } from 'pino';

type Level = 'error' | 'warn' | 'log' | 'debug';
const PINO_LEVEL: Record<Level, string> = { error: 'error', warn: 'warn', log: 'info', debug: 'debug' };

/**
 * Structured logs (LOG_FORMAT=json): one JSON object per line, through pino, for a log pipeline to index. Every
 * Nest `Logger` in the apps writes here; a call may pass an object (`{ msg, eventId, correlationId, ... }`) and its
 * fields become fields of the line. Fields carry ids and codes; a patient appears only as `patientRef`.
 */
export class JsonLogger implements LoggerService {
  private readonly pino: Logger;

  constructor(app: 'api' | 'worker' | 'demo', level: Level, destination?: DestinationStream) {
    this.pino = pino(
      { base: { app }, level: PINO_LEVEL[level], timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' },
      destination,
    );
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    // Nest passes (message, stack?, context?)
    const [stack, context] = params.length >= 2 ? params : [undefined, params[0]];
    this.write('error', message, [context], typeof stack === 'string' ? { stack } : {});
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: pino.Level, message: unknown, params: unknown[], extra: Record<string, unknown> = {}): void {
    const context = typeof params[params.length - 1] === 'string' ? (params[params.length - 1] as string) : undefined;
    const fields = { ...(context ? { context } : {}), ...extra };
    if (message && typeof message === 'object' && !(message instanceof Error))
      this.pino[level]({ ...fields, ...message });
    else this.pino[level](fields, message instanceof Error ? message.message : String(message));
  }
}

/**
 * A patient id as logs may carry it: a keyed hash (HMAC-SHA256 with LOG_HASH_KEY, first 16 hex digits), the same for
 * the same patient across lines and processes, useless without the key. Never log the id itself.
 */
export function patientRef(key: string, patientId: string): string {
  return createHmac('sha256', key).update(patientId).digest('hex').slice(0, 16);
}
