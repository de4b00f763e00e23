import { createHmac } from 'node:crypto';
import { HttpException, type ExecutionContext } from '@nestjs/common';
import type { ServiceConfig } from '@app/config';
import { intakeSignature, IntakeSignatureGuard, signatureProblem, signIntake } from './request-signature';

const SECRET = 'a-secret-of-at-least-32-characters!!';
const NOW = Date.parse('2030-01-01T12:00:00Z');
const body = Buffer.from('{"eventId":"e-1"}');

describe('the intake signature scheme', () => {
  it('is HMAC-SHA256 over "<timestamp>.<raw body>", lower-case hex (as docs/events.md tells integrators)', () => {
    const expected = createHmac('sha256', SECRET).update('1893499200.{"eventId":"e-1"}').digest('hex');
    expect(intakeSignature(SECRET, '1893499200', body)).toBe(expected);
    expect(signIntake(SECRET, body, NOW)).toEqual({
      'X-Signature-Timestamp': '1893499200',
      'X-Signature': `sha256=${expected}`,
    });
  });

  const check = (over: Partial<Parameters<typeof signatureProblem>[0]> = {}) => {
    const headers = signIntake(SECRET, body, NOW);
    return signatureProblem({
      secret: SECRET,
      maxSkewSeconds: 300,
      signature: headers['X-Signature'],
      timestamp: headers['X-Signature-Timestamp'],
      body,
      nowMs: NOW,
      ...over,
    });
  };

  it('accepts a good signature, upper-case hex too, within the allowed skew either way', () => {
    expect(check()).toBeNull();
    expect(check({ signature: `sha256=${intakeSignature(SECRET, '1893499200', body).toUpperCase()}` })).toBeNull();
    expect(check({ nowMs: NOW + 300_000 })).toBeNull();
    expect(check({ nowMs: NOW - 300_000 })).toBeNull();
  });

  it('refuses a missing or malformed timestamp or signature, a stale or future one, another body or secret', () => {
    expect(check({ timestamp: undefined })).toMatch(/^X-Signature-Timestamp required/);
    expect(check({ timestamp: '2030-01-01T12:00:00Z' })).toMatch(/^X-Signature-Timestamp required/);
    expect(check({ nowMs: NOW + 301_000 })).toMatch(/more than 300 s from the server's clock/);
    expect(check({ nowMs: NOW - 301_000 })).toMatch(/more than 300 s/);
    expect(check({ signature: undefined })).toMatch(/^X-Signature required: sha256=/);
    expect(check({ signature: 'sha1=abc' })).toMatch(/^X-Signature required/);
    expect(check({ signature: `sha256=${'0'.repeat(63)}` })).toMatch(/^X-Signature required/);
    expect(check({ body: Buffer.from('{"eventId":"e-2"}') })).toBe('X-Signature does not match the body and timestamp');
    expect(check({ secret: `${SECRET}x` })).toBe('X-Signature does not match the body and timestamp');
    // the signature of one timestamp does not serve another
    expect(check({ timestamp: '1893499201' })).toBe('X-Signature does not match the body and timestamp');
  });
});

describe('IntakeSignatureGuard', () => {
  function context(headers: Record<string, string>, rawBody?: Buffer) {
    const responseHeaders: Record<string, string> = {};
    const ctx = {
      switchToHttp: () => ({
        getRequest: () => ({ headers, rawBody }),
        getResponse: () => ({ setHeader: (n: string, v: string) => (responseHeaders[n] = v) }),
      }),
    } as unknown as ExecutionContext;
    return { ctx, responseHeaders };
  }
  const guard = (secret?: string) =>
    new IntakeSignatureGuard({ INTAKE_HMAC_SECRET: secret, INTAKE_HMAC_MAX_SKEW_SECONDS: 300 } as ServiceConfig);

  it('lets everything through when INTAKE_HMAC_SECRET is not set', () => {
    expect(guard().canActivate(context({}).ctx)).toBe(true);
  });

  it('with a secret: a signed body passes; an unsigned one is 401 with a challenge naming the scheme', () => {
    const signed = Object.fromEntries(Object.entries(signIntake(SECRET, body)).map(([k, v]) => [k.toLowerCase(), v]));
    expect(guard(SECRET).canActivate(context(signed, body).ctx)).toBe(true);
    const { ctx, responseHeaders } = context({}, body);
    let refusal: unknown;
    try {
      guard(SECRET).canActivate(ctx);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(HttpException);
    expect((refusal as HttpException).getStatus()).toBe(401);
    expect(responseHeaders['WWW-Authenticate']).toBe('HMAC-SHA256 realm="intake"');
    // a body the parser did not keep (no rawBody) is checked as empty: the signature of the real body fails
    expect(() => guard(SECRET).canActivate(context(signed).ctx)).toThrow('X-Signature does not match');
  });
});
