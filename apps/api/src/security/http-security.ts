import type { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import type { ServiceConfig } from '@app/config';
import { MAX_HL7_MESSAGE_BYTES } from '@app/interop';
import { HL7_MEDIA_TYPES } from '../interop/hl7.controller';
import { bodyErrors, correlationIds, refuseNulInUrl, type BodyLimits } from './errors';
import type { HttpRequest } from './http-types';
import { pathOf, rateLimits } from './rate-limit';

/**
 * Body limits: an event is a few kB (its longest field, a note, is 4,000 characters), so 64 kB; a FHIR bundle and an
 * HL7 v2 message up to the 1 MB the HL7 intake has always taken; any other JSON body (task actions, teams, a corrected
 * event for a replay) 100 kB, Express's own default. Larger: 413 before the body is parsed.
 */
export const BODY_LIMITS: BodyLimits = {
  event: 64 * 1024,
  fhir: MAX_HL7_MESSAGE_BYTES,
  hl7: MAX_HL7_MESSAGE_BYTES,
  json: 100 * 1024,
};

const JSON_MEDIA_TYPES = ['application/json', 'application/fhir+json'];

const mediaType = (request: HttpRequest) =>
  String(request.headers['content-type'] ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase();
const isJson = (request: HttpRequest) => JSON_MEDIA_TYPES.includes(mediaType(request));
const on = (route: RegExp) => (request: HttpRequest) => route.test(pathOf(request));
const EVENTS = on(/^\/events\/?$/i);
const FHIR = on(/^\/fhir\/?$/i);
const HL7 = on(/^\/hl7\/v2\/?$/i);

/** CORS_ORIGINS as a list ([] when unset). */
export function corsOrigins(config: Pick<ServiceConfig, 'CORS_ORIGINS'>): string[] {
  return (config.CORS_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
}

/** TRUST_PROXY as Express takes it: a hop count, true/false, or the addresses and subnets as written. */
export function trustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value.trim() === '' || value === 'false') return false;
  if (value === 'true') return true;
  return /^\d+$/.test(value.trim()) ? Number(value) : value;
}

/**
 * What every request meets before a controller (docs/security.md), in this order: a correlation id; security headers
 * (helmet: HSTS, nosniff, a default-src 'self' policy — the worklist page sends its own stricter one — and the rest);
 * CORS, only for CORS_ORIGINS; rate limits on authentication failures and on intake; a URL with %00 refused. Called before the queues board is
 * mounted, so the board gets them too.
 */
export function applyHttpProtections(app: NestExpressApplication, config: ServiceConfig): void {
  app.set('trust proxy', trustProxy(config.TRUST_PROXY));
  app.disable('x-powered-by');
  app.use(correlationIds);
  app.use(
    helmet({
      // The api is JSON; the pages it serves (/docs, /queues) load their own scripts and styles. No
      // upgrade-insecure-requests: a plain-HTTP deployment behind a TLS proxy must still load /docs.
      contentSecurityPolicy: { useDefaults: true, directives: { 'upgrade-insecure-requests': null } },
    }),
  );
  const origins = corsOrigins(config);
  if (origins.length > 0)
    app.enableCors({
      origin: origins,
      methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'X-Api-Key', 'Content-Type', 'X-Signature', 'X-Signature-Timestamp'],
      exposedHeaders: ['Retry-After', 'X-Correlation-Id', 'WWW-Authenticate'],
      credentials: false,
      maxAge: 600,
    });
  app.use(rateLimits(config));
  app.use(refuseNulInUrl);
}

/**
 * The body parsers, each on the routes it serves and with that route's limit, then their errors in our words. JSON
 * and text bodies keep their raw bytes (rawBody) for request signatures and raw storage.
 */
export function applyBodyParsers(app: NestExpressApplication): void {
  app.useBodyParser('json', { type: (r: HttpRequest) => isJson(r) && EVENTS(r), limit: BODY_LIMITS.event });
  app.useBodyParser('json', { type: (r: HttpRequest) => isJson(r) && FHIR(r), limit: BODY_LIMITS.fhir });
  app.useBodyParser('json', { type: isJson, limit: BODY_LIMITS.json });
  app.useBodyParser('text', {
    type: (r: HttpRequest) => HL7_MEDIA_TYPES.includes(mediaType(r)) && HL7(r),
    limit: BODY_LIMITS.hl7,
  });
  app.use(bodyErrors(BODY_LIMITS));
}
