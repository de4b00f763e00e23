import { createParamDecorator, UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import type { ResolvedApiKey } from '@app/store';

/**
 * Who is calling, as ApiKeyGuard resolved the key: its role, and for navigator and lead keys the team member it
 * acts as (memberId, teamCode, memberRole; null for integration and admin keys). Structurally a TaskActor.
 */
export type Caller = ResolvedApiKey;

/** The request as the guard leaves it. */
export interface RequestWithCaller {
  caller?: Caller;
}

/** The Caller of a guarded route: `handler(@CurrentCaller() caller: Caller)`. */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const caller = context.switchToHttp().getRequest<RequestWithCaller>().caller;
  // No caller: the guard let this request through unauthenticated (a @Public() route). Refuse to act as nobody.
  if (!caller) throw new UnauthorizedException({ statusCode: 401, message: 'this route has no authenticated caller' });
  return caller;
});
