import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  Inject,
  Injectable,
  UnauthorizedException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { ServiceConfig } from '@app/config';
import { SERVICE_CONFIG } from '@app/platform';
import type { HttpRequest, HttpResponse } from './http-types';

export const SIGNATURE_HEADER = 'X-Signature';
export const SIGNATURE_TIMESTAMP_HEADER = 'X-Signature-Timestamp';

/**
 * The signature of an intake request (docs/events.md, "Signed requests"): HMAC-SHA256, keyed with INTAKE_HMAC_SECRET,
 * over the bytes `<timestamp>.<body>` (the timestamp as sent, a full stop, the body's bytes as sent, after any
 * Content-Encoding is removed), as lower-case hex.
 */
export function intakeSignature(secret: string, timestamp: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The two headers a sender adds: `X-Signature-Timestamp: <unix seconds>`, `X-Signature: sha256=<hex>`. */
export function signIntake(secret: string, body: Buffer | string, nowMs = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  return {
    [SIGNATURE_TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: `sha256=${intakeSignature(secret, timestamp, body)}`,
  };
}

export interface SignatureCheck {
  secret: string;
  maxSkewSeconds: number;
  signature: unknown;
  timestamp: unknown;
  body: Buffer;
  nowMs: number;
}

/**
 * Why a request's signature is not good, or null when it is. The timestamp must be within maxSkewSeconds of the api's
 * clock (an older request replayed is refused); the comparison is constant-time, on a digest of fixed length.
 */
export function signatureProblem(check: SignatureCheck): string | null {
  if (typeof check.timestamp !== 'string' || !/^\d{1,12}$/.test(check.timestamp))
    return `${SIGNATURE_TIMESTAMP_HEADER} required: the request's time in Unix seconds`;
  if (Math.abs(check.nowMs / 1000 - Number(check.timestamp)) > check.maxSkewSeconds)
    return `${SIGNATURE_TIMESTAMP_HEADER} is more than ${check.maxSkewSeconds} s from the server's clock: sign each request when it is sent`;
  if (typeof check.signature !== 'string' || !/^sha256=[0-9a-fA-F]{64}$/.test(check.signature))
    return `${SIGNATURE_HEADER} required: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`;
  const expected = Buffer.from(intakeSignature(check.secret, check.timestamp, check.body), 'hex');
  const given = Buffer.from(check.signature.slice(7), 'hex');
  return timingSafeEqual(expected, given) ? null : `${SIGNATURE_HEADER} does not match the body and timestamp`;
}

/**
 * When INTAKE_HMAC_SECRET is set, an intake route needs a good signature as well as an integration key (the key guard
 * runs first, so a request without a key is still a plain 401). Unset, it lets everything through.
 */
@Injectable()
export class IntakeSignatureGuard implements CanActivate {
  constructor(@Inject(SERVICE_CONFIG) private readonly config: ServiceConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const secret = this.config.INTAKE_HMAC_SECRET;
    if (!secret) return true;
    const request = context.switchToHttp().getRequest<HttpRequest>();
    const problem = signatureProblem({
      secret,
      maxSkewSeconds: this.config.INTAKE_HMAC_MAX_SKEW_SECONDS,
      signature: request.headers['x-signature'],
      timestamp: request.headers['x-signature-timestamp'],
      body: request.rawBody ?? Buffer.alloc(0),
      nowMs: Date.now(),
    });
    if (problem === null) return true;
    context.switchToHttp().getResponse<HttpResponse>().setHeader('WWW-Authenticate', 'HMAC-SHA256 realm="intake"');
    throw new UnauthorizedException({ statusCode: 401, message: problem });
  }
}

/** Marks an intake handler: signed requests only, when INTAKE_HMAC_SECRET is set. */
export const SignedIntake = (): MethodDecorator & ClassDecorator => UseGuards(IntakeSignatureGuard);
