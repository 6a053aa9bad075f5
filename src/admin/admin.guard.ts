import { CanActivate, createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuditLog } from '../audit/audit-log.service.js';
import { Problem } from '../common/problem.js';
import { bearerToken } from '../identity/auth.guard.js';
import { AdminCredentials } from './admin-credentials.js';

type AdminRequest = FastifyRequest & { adminCredentialId?: string };

/**
 * Requires an admin credential (`Authorization: Bearer sna_…`), never a user
 * token. A refused attempt with a real credential's id goes on the audit log.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(
    private readonly credentials: AdminCredentials,
    private readonly audit: AuditLog,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AdminRequest>();
    const checked = await this.credentials.check(bearerToken(request.headers.authorization));
    if (checked.kind === 'valid') {
      request.adminCredentialId = checked.credentialId;
      return true;
    }
    if (checked.credentialId)
      await this.audit.record(checked.credentialId, 'credential_refused', null, {
        route: request.routeOptions.url,
      });
    throw Problem.unauthorized('admin_credential_invalid', 'An admin credential is required');
  }
}

/** The admin credential of the request (use with AdminGuard). */
export const AdminCaller = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const request = context.switchToHttp().getRequest<AdminRequest>();
  if (!request.adminCredentialId) throw new Error('AdminCaller used on a route without AdminGuard');
  return request.adminCredentialId;
});
