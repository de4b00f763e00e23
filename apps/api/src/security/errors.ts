import { randomUUID } from 'node:crypto';
import {
  BadRequestException,
  Catch,
  HttpException,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
  type PipeTransform,
  type ArgumentMetadata,
} from '@nestjs/common';
import type { HttpRequest, HttpResponse, Next } from './http-types';
import { pathOf } from './rate-limit';

export const CORRELATION_HEADER = 'X-Correlation-Id';
export const INTERNAL_ERROR_MESSAGE = 'internal error: nothing was changed by this request unless it says otherwise';

/** Every request gets a correlation id of the server's making (never the caller's: it could carry anything). */
export function correlationIds(request: HttpRequest, response: HttpResponse, next: Next): void {
  request.correlationId = randomUUID();
  response.setHeader(CORRELATION_HEADER, request.correlationId);
  next();
}

const isFhirPath = (request: HttpRequest) => /^\/fhir\b/i.test(pathOf(request));

/**
 * What every error of the api answers, where a controller has no filter of its own: an HttpException as it says (its
 * messages are written for callers and never hold a stack); anything else as 500 with a generic message and the
 * request's correlation id, logged with that id, the error's kind, SQLSTATE and code location, but not its message
 * (a database error quotes the value it refused, which can be a patient id).
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const request = host.switchToHttp().getRequest<HttpRequest>();
    const response = host.switchToHttp().getResponse<HttpResponse & { status(code: number): unknown }>();
    const correlationId = request.correlationId ?? randomUUID();
    let status: number;
    let body: Record<string, unknown>;
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      const answer = exception.getResponse();
      body = typeof answer === 'string' ? { statusCode: status, message: answer } : { ...(answer as object) };
      if (status >= 500 && body.resourceType === undefined) body.correlationId = correlationId;
    } else {
      status = 500;
      this.logger.error(describeFailure(exception, request, correlationId), stackFrames(exception));
      body = isFhirPath(request)
        ? {
            resourceType: 'OperationOutcome',
            issue: [
              { severity: 'error', code: 'exception', diagnostics: `${INTERNAL_ERROR_MESSAGE} (${correlationId})` },
            ],
          }
        : { statusCode: 500, message: INTERNAL_ERROR_MESSAGE, correlationId };
    }
    if (response.headersSent) {
      if (!response.writableEnded) response.end();
      return;
    }
    response.statusCode = status;
    response.setHeader(
      'Content-Type',
      body.resourceType === 'OperationOutcome'
        ? 'application/fhir+json; charset=utf-8'
        : 'application/json; charset=utf-8',
    );
    response.end(JSON.stringify(body));
  }
}

/** The error's kind and where: no message, no URL (both may quote patient data), the route's pattern instead. */
function describeFailure(exception: unknown, request: HttpRequest, correlationId: string): string {
  const err = (exception ?? {}) as { name?: unknown; code?: unknown; constraint?: unknown; routine?: unknown };
  // the class (pg's DatabaseError calls itself "error"), else the name, else the type
  const cls = typeof exception === 'object' && exception !== null ? exception.constructor?.name : undefined;
  const kind = cls && cls !== 'Object' ? cls : typeof err.name === 'string' ? err.name : typeof exception;
  const details = [
    typeof err.code === 'string' ? `code ${err.code}` : '',
    typeof err.constraint === 'string' ? `constraint ${err.constraint}` : '',
    typeof err.routine === 'string' ? `routine ${err.routine}` : '',
  ].filter(Boolean);
  const route =
    typeof request.route?.path === 'string' ? `${request.baseUrl ?? ''}${request.route.path}` : 'a route not matched';
  return `unhandled ${kind}${details.length ? ` (${details.join(', ')})` : ''} on ${request.method} ${route}; correlation id ${correlationId}`;
}

/** The stack without its first line (which repeats the message). */
function stackFrames(exception: unknown): string | undefined {
  const stack = (exception as { stack?: unknown })?.stack;
  return typeof stack === 'string' ? stack.split('\n').slice(1).join('\n') : undefined;
}

/** The request-body limits (bytes). An event is a few kB; a FHIR bundle or an HL7 message up to 1 MB. */
export interface BodyLimits {
  event: number;
  fhir: number;
  hl7: number;
  json: number;
}

/**
 * Express error middleware right after the body parsers: their failures as HTTP answers that say what was wrong with
 * the body in words of our own (V8's JSON message quotes the body, which may hold a patient's data).
 */
export function bodyErrors(limits: BodyLimits) {
  return function bodyError(err: unknown, request: HttpRequest, _response: HttpResponse, next: Next): void {
    const type = (err as { type?: unknown })?.type;
    const status = (err as { status?: unknown })?.status;
    if (typeof type !== 'string' || typeof status !== 'number') return next(err);
    const path = pathOf(request);
    const fhir = isFhirPath(request);
    const answer = (code: number, message: string, field?: { field: string; reason: string }) =>
      new HttpException(
        fhir
          ? {
              resourceType: 'OperationOutcome',
              issue: [{ severity: 'error', code: code === 413 ? 'too-costly' : 'structure', diagnostics: message }],
            }
          : { statusCode: code, message, ...(field && /^\/events\/?$/i.test(path) ? { errors: [field] } : {}) },
        code,
      );
    switch (type) {
      case 'entity.too.large': {
        const limit = /^\/events\/?$/i.test(path)
          ? limits.event
          : fhir
            ? limits.fhir
            : /^\/hl7\/v2\/?$/i.test(path)
              ? limits.hl7
              : limits.json;
        return next(
          answer(413, `the body is larger than ${limit} bytes, the most this route takes`, {
            field: '(root)',
            reason: `must be at most ${limit} bytes`,
          }),
        );
      }
      case 'entity.parse.failed':
        return next(answer(400, 'the body is not valid JSON', { field: '(root)', reason: 'must be valid JSON' }));
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return next(answer(415, 'the body is in an encoding or character set this api does not read (send UTF-8)'));
      default:
        return next(status < 500 ? answer(status, 'the body could not be read') : err);
    }
  };
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** What PostgreSQL text and jsonb cannot hold: NUL, and half a surrogate pair. */
const UNSTORABLE_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * A URL with a NUL in it (%00) is refused before routing: no route takes one, and PostgreSQL would fail on it as a
 * query parameter (a 500) wherever a value of the URL reaches a query.
 */
export function refuseNulInUrl(request: HttpRequest, response: HttpResponse, next: Next): void {
  if (!/%00/i.test(request.originalUrl ?? request.url)) return next();
  next(
    new HttpException(
      isFhirPath(request)
        ? {
            resourceType: 'OperationOutcome',
            issue: [{ severity: 'error', code: 'invalid', diagnostics: 'the URL holds a NUL character (%00)' }],
          }
        : { statusCode: 400, message: 'the URL holds a NUL character (%00)' },
      400,
    ),
  );
}
const MAX_BODY_DEPTH = 16;

/**
 * Ahead of the ValidationPipe, for bodies and queries bound to a DTO class: a key class-transformer cannot take
 * (`constructor` holding an object made it throw a TypeError, answered 500), nesting past 16 levels, or text with a
 * NUL or half a surrogate pair (PostgreSQL refused it: a 500) is a 400 naming the field. Parameters without a DTO class (POST /events takes `unknown` and runs the contract itself) pass as they are.
 */
export class UntrustedShapePipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const metatype = metadata.metatype;
    if (!metatype || [Object, String, Number, Boolean, Array].includes(metatype as never)) return value;
    if (metadata.type !== 'body' && metadata.type !== 'query') return value;
    const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: '', depth: 1 }];
    while (stack.length > 0) {
      const { value: current, path, depth } = stack.pop()!;
      if (typeof current === 'string' && UNSTORABLE_TEXT.test(current))
        throw new BadRequestException({
          statusCode: 400,
          message: [`${path || '(root)'} must be text without NUL characters or unpaired surrogates`],
          error: 'Bad Request',
        });
      if (typeof current !== 'object' || current === null) continue;
      if (depth > MAX_BODY_DEPTH)
        throw new BadRequestException({
          statusCode: 400,
          message: [`${path || '(root)'} is nested more than ${MAX_BODY_DEPTH} levels deep`],
          error: 'Bad Request',
        });
      for (const key of Object.keys(current)) {
        const at = path ? `${path}.${key}` : key;
        if (FORBIDDEN_KEYS.has(key))
          throw new BadRequestException({
            statusCode: 400,
            message: [`property ${at} should not exist`],
            error: 'Bad Request',
          });
        stack.push({ value: (current as Record<string, unknown>)[key], path: at, depth: depth + 1 });
      }
    }
    return value;
  }
}
