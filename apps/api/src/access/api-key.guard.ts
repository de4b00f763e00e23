import {
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  ServiceUnavailableException,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ApiRole } from '@app/navigation';
import { CLOCK } from '@app/platform';
import { ApiKeyStore, hashApiKeySecret, type Clock } from '@app/store';
import type { Caller, RequestWithCaller } from './caller';
import { PUBLIC_METADATA, ROLES_METADATA } from './roles.decorator';

export const API_KEY_REQUIRED = 'API key required: send Authorization: Bearer <key>';
export const API_KEY_REJECTED = 'API key not recognised or revoked';

/**
 * Resolved keys, kept for CACHE_TTL_MS so that a request does not cost a database round trip. The price: a key
 * revoked, or a member deactivated, through another api process (or straight in the database) still works here for
 * up to CACHE_TTL_MS. Changes made through this process's admin routes clear the cache at once. Unknown keys are
 * cached too (a client retrying a bad key does not hammer PostgreSQL); entries are keyed by the secret's hash, so
 * no secret is held in memory beyond its request.
 */
@Injectable()
export class ApiKeyCache {
  static readonly CACHE_TTL_MS = 5_000;
  static readonly MAX_ENTRIES = 1_000;
  private readonly entries = new Map<string, { caller: Promise<Caller | null>; expiresAt: number }>();

  constructor(
    private readonly keys: ApiKeyStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async resolve(secret: string): Promise<Caller | null> {
    const hash = hashApiKeySecret(secret);
    const now = this.clock.now().getTime();
    const hit = this.entries.get(hash);
    if (hit && hit.expiresAt > now) return hit.caller;
    this.entries.delete(hash);
    // The promise is cached, so concurrent first requests with one key share a single lookup.
    const caller = this.keys.resolve(secret);
    this.entries.set(hash, { caller, expiresAt: now + ApiKeyCache.CACHE_TTL_MS });
    if (this.entries.size > ApiKeyCache.MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    try {
      return await caller;
    } catch (err) {
      if (this.entries.get(hash)?.caller === caller) this.entries.delete(hash); // a failed lookup is not an answer
      throw err;
    }
  }

  /** After a revocation or a member change: the next request of every key is checked against the database. */
  clear(): void {
    this.entries.clear();
  }
}

interface GuardedRequest extends RequestWithCaller {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  baseUrl?: string;
  route?: { path?: unknown };
}

interface HeaderResponse {
  setHeader(name: string, value: string): unknown;
}

/** The secret from `Authorization: Bearer <key>` or, failing that, `X-Api-Key: <key>`. */
export function presentedApiKey(headers: GuardedRequest['headers']): string | null {
  const authorization = headers.authorization;
  const bearer = typeof authorization === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  if (bearer) return bearer[1];
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey.trim() ? apiKey.trim() : null;
}

/**
 * Every route needs an API key whose role the route allows (@Roles), except @Public() ones. A route that declares
 * neither is refused to every role: forgetting the decorator closes a route, it never opens one.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly logger = new Logger('ApiKeyGuard');

  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyCache,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule = this.accessRule(context);
    if (rule === 'public') return true;
    if (context.getType() !== 'http') throw new ForbiddenException('only HTTP requests are authorised');
    const request = context.switchToHttp().getRequest<GuardedRequest>();
    const response = context.switchToHttp().getResponse<HeaderResponse>();

    const secret = presentedApiKey(request.headers);
    if (!secret) this.unauthorized(response, API_KEY_REQUIRED);
    let caller: Caller | null;
    try {
      caller = await this.keys.resolve(secret);
    } catch (err) {
      // Fail closed, but say it is ours: the client should retry, not replace its key.
      this.logger.error(`API key lookup failed: ${(err as Error).message}`);
      throw new ServiceUnavailableException({ statusCode: 503, message: 'cannot check API keys now; retry later' });
    }
    if (!caller) this.unauthorized(response, API_KEY_REJECTED);

    if (!rule.includes(caller.role)) {
      // The route's pattern (/patients/:patientId), not the URL: messages carry no patient identifiers.
      const path =
        typeof request.route?.path === 'string' ? `${request.baseUrl ?? ''}${request.route.path}` : 'this route';
      const allowed = rule.length ? rule.join(', ') : 'none (the route declares no roles)';
      throw new ForbiddenException({
        statusCode: 403,
        message: `role '${caller.role}' may not ${request.method} ${path}; allowed: ${allowed}`,
      });
    }
    request.caller = caller;
    return true;
  }

  /** The handler's own declaration wins over its controller's; none at all is an empty role list (fail closed). */
  private accessRule(context: ExecutionContext): 'public' | readonly ApiRole[] {
    for (const target of [context.getHandler(), context.getClass()]) {
      if (this.reflector.get<boolean>(PUBLIC_METADATA, target)) return 'public';
      const roles = this.reflector.get<ApiRole[]>(ROLES_METADATA, target);
      if (roles) return roles;
    }
    return [];
  }

  private unauthorized(response: HeaderResponse, message: string): never {
    response.setHeader('WWW-Authenticate', 'Bearer');
    throw new UnauthorizedException({ statusCode: 401, message });
  }
}
