import { CanActivate, createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuthenticatedDevice, AuthService } from './auth.service.js';

type AuthenticatedRequest = FastifyRequest & { auth?: AuthenticatedDevice };

export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value?.match(/^Bearer\s+(\S+)$/i);
  return match?.[1];
}

/** Requires `Authorization: Bearer <token>` of a current device. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(private readonly auth: AuthService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    request.auth = await this.auth.authenticate(bearerToken(request.headers.authorization));
    return true;
  }
}

/** The authenticated device of the request (use with AuthGuard). */
export const Caller = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthenticatedDevice => {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (!request.auth) throw new Error('Caller used on a route without AuthGuard');
    return request.auth;
  },
);
