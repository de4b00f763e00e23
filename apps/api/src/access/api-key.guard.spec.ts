import { HttpException, Logger, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FakeClock, type ApiKeyStore } from '@app/store';
import { API_KEY_REJECTED, API_KEY_REQUIRED, ApiKeyCache, ApiKeyGuard, presentedApiKey } from './api-key.guard';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { CurrentCaller, type Caller } from './caller';
import { Public, Roles } from './roles.decorator';

// Pure: the guard's decisions on fake requests, and the cache on a fake store and clock (no database, no HTTP).

@Roles('admin')
class AdminController {
  list() {}
  @Roles('lead', 'navigator') worklist() {}
  @Public() open() {}
}
class UndeclaredController {
  anything() {}
}
@Public()
class HealthLikeController {
  live() {}
}

const admin: Caller = { keyId: 'k-admin', role: 'admin', memberId: null, teamCode: null, memberRole: null };
const navigator: Caller = {
  keyId: 'k-nav',
  role: 'navigator',
  memberId: 'm1',
  teamCode: 'SARC-NORTH',
  memberRole: 'navigator',
};
const callers: Record<string, Caller> = { 'admin-secret': admin, 'navigator-secret': navigator };

function call(
  controller: new () => object,
  handler: string,
  headers: Record<string, string>,
  route = '/things/:id',
  method = 'GET',
) {
  const request: Record<string, unknown> = { method, headers, baseUrl: '', route: { path: route } };
  const responseHeaders: Record<string, string> = {};
  const response = { setHeader: (name: string, value: string) => (responseHeaders[name] = value) };
  const context = {
    getType: () => 'http',
    getHandler: () => (controller.prototype as Record<string, unknown>)[handler],
    getClass: () => controller,
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }),
  } as unknown as ExecutionContext;
  return { context, request, responseHeaders };
}

const cache = (resolve: (secret: string) => Promise<Caller | null>) => ({ resolve }) as unknown as ApiKeyCache;
const guard = new ApiKeyGuard(
  new Reflector(),
  cache(async (secret) => callers[secret] ?? null),
);

async function refusal(promise: Promise<unknown>): Promise<{ status: number; body: unknown }> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof HttpException)) throw new Error(`expected an HttpException, got ${String(err)}`);
  return { status: err.getStatus(), body: err.getResponse() };
}

describe('ApiKeyGuard', () => {
  it('asks for a key when none is sent, with the exact body and a WWW-Authenticate challenge', async () => {
    const { context, responseHeaders } = call(AdminController, 'list', {});
    expect(await refusal(guard.canActivate(context))).toEqual({
      status: 401,
      body: { statusCode: 401, message: 'API key required: send Authorization: Bearer <key>' },
    });
    expect(API_KEY_REQUIRED).toBe('API key required: send Authorization: Bearer <key>');
    expect(responseHeaders['WWW-Authenticate']).toBe('Bearer');
    // Another scheme is not a key.
    const basic = call(AdminController, 'list', { authorization: 'Basic YWRtaW46YWRtaW4=' });
    expect((await refusal(guard.canActivate(basic.context))).body).toMatchObject({ message: API_KEY_REQUIRED });
  });

  it('refuses an unknown key with 401', async () => {
    const { context } = call(AdminController, 'list', { authorization: 'Bearer nope' });
    expect(await refusal(guard.canActivate(context))).toEqual({
      status: 401,
      body: { statusCode: 401, message: 'API key not recognised or revoked' },
    });
    expect(API_KEY_REJECTED).toBe('API key not recognised or revoked');
  });

  it('lets an allowed role through (Bearer or X-Api-Key) and attaches the caller to the request', async () => {
    const bearer = call(AdminController, 'list', { authorization: 'bearer admin-secret' });
    expect(await guard.canActivate(bearer.context)).toBe(true);
    expect(bearer.request.caller).toEqual(admin);
    const header = call(AdminController, 'worklist', { 'x-api-key': 'navigator-secret' });
    expect(await guard.canActivate(header.context)).toBe(true);
    expect(header.request.caller).toEqual(navigator);
  });

  it('refuses a role the route does not allow with 403 naming role, method, route pattern and allowed roles', async () => {
    const { context, request } = call(
      AdminController,
      'list',
      { authorization: 'Bearer navigator-secret' },
      '/teams',
      'POST',
    );
    expect(await refusal(guard.canActivate(context))).toEqual({
      status: 403,
      body: { statusCode: 403, message: "role 'navigator' may not POST /teams; allowed: admin" },
    });
    expect(request.caller).toBeUndefined();
  });

  it("uses the handler's own declaration over its controller's", async () => {
    const asAdmin = call(AdminController, 'worklist', { authorization: 'Bearer admin-secret' }, '/worklist');
    expect((await refusal(guard.canActivate(asAdmin.context))).body).toEqual({
      statusCode: 403,
      message: "role 'admin' may not GET /worklist; allowed: lead, navigator",
    });
    expect(await guard.canActivate(call(AdminController, 'open', {}).context)).toBe(true);
  });

  it('is fail closed: a route with neither @Roles nor @Public is refused to every role', async () => {
    for (const secret of Object.keys(callers)) {
      const { context } = call(UndeclaredController, 'anything', { authorization: `Bearer ${secret}` }, '/x');
      const { status, body } = await refusal(guard.canActivate(context));
      expect(status).toBe(403);
      expect(body).toMatchObject({ message: expect.stringMatching(/may not GET \/x; allowed: none/) });
    }
  });

  it('lets anyone reach a @Public() controller, without looking at keys', async () => {
    const strict = new ApiKeyGuard(
      new Reflector(),
      cache(() => Promise.reject(new Error('must not be called'))),
    );
    expect(await strict.canActivate(call(HealthLikeController, 'live', {}).context)).toBe(true);
    expect(await strict.canActivate(call(HealthLikeController, 'live', { authorization: 'Bearer x' }).context)).toBe(
      true,
    );
  });

  it('answers 503 when keys cannot be checked (fail closed, but not "your key is wrong")', async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const broken = new ApiKeyGuard(
      new Reflector(),
      cache(() => Promise.reject(new Error('connection refused'))),
    );
    const { context } = call(AdminController, 'list', { authorization: 'Bearer admin-secret' });
    expect((await refusal(broken.canActivate(context))).status).toBe(503);
    expect(Logger.prototype.error).toHaveBeenCalledWith('API key lookup failed: connection refused');
  });
});

describe('@CurrentCaller()', () => {
  // The factory Nest calls for the parameter, taken from the metadata the decorator leaves on a handler.
  class WithCaller {
    handle(@CurrentCaller() _caller: Caller) {}
  }
  const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, WithCaller, 'handle') as Record<
    string,
    { factory: (data: unknown, context: ExecutionContext) => Caller }
  >;
  const factory = Object.values(args)[0].factory;

  it('gives the caller the guard attached, and refuses with 401 when there is none', () => {
    const guarded = call(AdminController, 'list', {});
    guarded.request.caller = navigator;
    expect(factory(undefined, guarded.context)).toEqual(navigator);
    const open = call(HealthLikeController, 'live', {});
    expect(() => factory(undefined, open.context)).toThrow(HttpException);
  });
});

describe('presentedApiKey', () => {
  it('prefers Authorization: Bearer, falls back to X-Api-Key, ignores blanks', () => {
    expect(presentedApiKey({ authorization: 'Bearer a', 'x-api-key': 'b' })).toBe('a');
    expect(presentedApiKey({ 'x-api-key': ' b ' })).toBe('b');
    expect(presentedApiKey({ authorization: 'Bearer ', 'x-api-key': '  ' })).toBeNull();
    expect(presentedApiKey({})).toBeNull();
  });
});

describe('ApiKeyCache', () => {
  function setup(answer: (secret: string) => Promise<Caller | null> = async (s) => callers[s] ?? null) {
    const clock = new FakeClock(new Date('2030-01-01T00:00:00Z'));
    const lookups: string[] = [];
    const store = {
      resolve: (secret: string) => {
        lookups.push(secret);
        return answer(secret);
      },
    } as unknown as ApiKeyStore;
    return { clock, lookups, keys: new ApiKeyCache(store, clock) };
  }

  it('answers from memory for 5 s, then asks the database again', async () => {
    const { clock, lookups, keys } = setup();
    expect(ApiKeyCache.CACHE_TTL_MS).toBe(5000);
    expect(await keys.resolve('admin-secret')).toEqual(admin);
    clock.advance(4999);
    expect(await keys.resolve('admin-secret')).toEqual(admin);
    expect(lookups).toHaveLength(1);
    clock.advance(1);
    await keys.resolve('admin-secret');
    expect(lookups).toHaveLength(2);
  });

  it('caches unknown keys too, shares one lookup between concurrent requests, and forgets everything on clear()', async () => {
    const { lookups, keys } = setup();
    expect(await Promise.all([keys.resolve('bad'), keys.resolve('bad'), keys.resolve('bad')])).toEqual([
      null,
      null,
      null,
    ]);
    expect(lookups).toEqual(['bad']);
    keys.clear();
    await keys.resolve('bad');
    expect(lookups).toEqual(['bad', 'bad']);
  });

  it('does not keep a failed lookup', async () => {
    let fail = true;
    const { lookups, keys } = setup(async (s) => {
      if (fail) throw new Error('database down');
      return callers[s] ?? null;
    });
    await expect(keys.resolve('admin-secret')).rejects.toThrow('database down');
    fail = false;
    expect(await keys.resolve('admin-secret')).toEqual(admin);
    expect(lookups).toHaveLength(2);
  });

  it('holds at most MAX_ENTRIES keys, dropping the oldest', async () => {
    const { lookups, keys } = setup();
    for (let i = 0; i <= ApiKeyCache.MAX_ENTRIES; i++) await keys.resolve(`k${i}`);
    expect(lookups).toHaveLength(ApiKeyCache.MAX_ENTRIES + 1);
    await keys.resolve(`k${ApiKeyCache.MAX_ENTRIES}`); // newest: still cached
    expect(lookups).toHaveLength(ApiKeyCache.MAX_ENTRIES + 1);
    await keys.resolve('k0'); // oldest: dropped
    expect(lookups).toHaveLength(ApiKeyCache.MAX_ENTRIES + 2);
  });
});
