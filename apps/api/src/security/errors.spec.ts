import { HttpException } from '@nestjs/common';
import { bodyErrors, UntrustedShapePipe } from './errors';
import type { HttpRequest, HttpResponse } from './http-types';

class SomeDto {
  reason?: string;
}

describe('UntrustedShapePipe', () => {
  const pipe = new UntrustedShapePipe();
  const body = { type: 'body' as const, metatype: SomeDto };
  const refusal = (value: unknown) => {
    try {
      pipe.transform(value, body);
    } catch (err) {
      return (err as HttpException).getResponse();
    }
    return null;
  };

  it('refuses keys class-transformer cannot take, anywhere in a DTO body (a nested constructor made it throw)', () => {
    expect(refusal({ reason: { constructor: {} } })).toMatchObject({
      statusCode: 400,
      message: ['property reason.constructor should not exist'],
    });
    expect(refusal(JSON.parse('{"__proto__": {"x": 1}}'))).toMatchObject({
      message: ['property __proto__ should not exist'],
    });
  });

  it('refuses NUL and half surrogate pairs in text, and nesting past 16 levels', () => {
    expect(refusal({ reason: 'a\u0000b' })).toMatchObject({
      message: ['reason must be text without NUL characters or unpaired surrogates'],
    });
    expect(refusal({ reason: ['ok', '\ud800'] })).toMatchObject({
      message: ['reason.1 must be text without NUL characters or unpaired surrogates'],
    });
    let deep: unknown = 'x';
    for (let i = 0; i < 20; i += 1) deep = { a: deep };
    expect(refusal(deep)).toMatchObject({ message: [expect.stringMatching(/nested more than 16 levels deep$/)] });
  });

  it('lets ordinary bodies through, and leaves untyped parameters (POST /events runs the contract) alone', () => {
    expect(refusal({ reason: 'scanner down 😀', extra: [1, { b: 'c' }] })).toBeNull();
    expect(pipe.transform({ constructor: {} }, { type: 'body', metatype: Object })).toEqual({ constructor: {} });
    expect(pipe.transform('a\u0000', { type: 'param', metatype: String })).toBe('a\u0000');
  });
});

describe('bodyErrors', () => {
  const limits = { event: 64, fhir: 1000, hl7: 1000, json: 100 };
  const map = (err: unknown, url: string) => {
    let out: unknown;
    bodyErrors(limits)(err, { method: 'POST', url, headers: {} } as HttpRequest, {} as HttpResponse, (e) => (out = e));
    return out;
  };
  const parseError = Object.assign(new SyntaxError('Unexpected token in JSON: "{"patientId": "MRN-1'), {
    type: 'entity.parse.failed',
    status: 400,
  });

  it('words a parser failure itself, never quoting the body, with (root) for /events', () => {
    const answer = map(parseError, '/events') as HttpException;
    expect(answer.getStatus()).toBe(400);
    expect(answer.getResponse()).toEqual({
      statusCode: 400,
      message: 'the body is not valid JSON',
      errors: [{ field: '(root)', reason: 'must be valid JSON' }],
    });
    expect(JSON.stringify(answer.getResponse())).not.toContain('MRN-1');
  });

  it("answers too large with the route's own limit, as an OperationOutcome on /fhir", () => {
    const tooLarge = { type: 'entity.too.large', status: 413 };
    expect((map(tooLarge, '/events') as HttpException).getResponse()).toMatchObject({
      message: 'the body is larger than 64 bytes, the most this route takes',
    });
    expect((map(tooLarge, '/tasks/x/hold') as HttpException).getResponse()).toMatchObject({
      message: 'the body is larger than 100 bytes, the most this route takes',
    });
    expect((map(tooLarge, '/fhir?x=1') as HttpException).getResponse()).toEqual({
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'too-costly',
          diagnostics: 'the body is larger than 1000 bytes, the most this route takes',
        },
      ],
    });
  });

  it('passes on errors that are not the parsers', () => {
    const other = new Error('boom');
    expect(map(other, '/events')).toBe(other);
  });
});
