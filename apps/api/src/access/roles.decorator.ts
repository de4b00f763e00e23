import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { ApiRole } from '@app/navigation';

export const ROLES_METADATA = 'access:roles';
export const PUBLIC_METADATA = 'access:public';

/**
 * The key roles that may call a controller or handler (a handler's own decorator wins over its controller's).
 * ApiKeyGuard refuses a route that has neither this nor @Public(): access is declared, never assumed.
 */
export function Roles(...roles: ApiRole[]): ClassDecorator & MethodDecorator {
  return applyDecorators(
    SetMetadata(ROLES_METADATA, roles),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ description: 'No API key, or a key that is not recognised or revoked' }),
    ApiForbiddenResponse({ description: `The key's role may not call this; allowed: ${roles.join(', ') || 'none'}` }),
  );
}

/** No API key needed (health checks only). */
export function Public(): ClassDecorator & MethodDecorator {
  return SetMetadata(PUBLIC_METADATA, true);
}
