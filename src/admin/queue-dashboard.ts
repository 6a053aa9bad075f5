import { getQueueToken } from '@nestjs/bullmq';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuditLog } from '../audit/audit-log.service.js';
import { sendProblem } from '../common/problem.filter.js';
import { Problem } from '../common/problem.js';
import { bearerToken } from '../identity/auth.guard.js';
import { QUEUES } from '../queue/queue-names.js';
import { AdminCredentials } from './admin-credentials.js';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

// A browser can only present a credential it is asked for, so the dashboard
// takes the admin credential as HTTP Basic's password (any user name) as well
// as a bearer token, and a refusal asks for Basic.
const BASIC_CHALLENGE = 'Basic realm="Supernode queues", charset="UTF-8"';

/** The admin credential of a request: `Bearer sna_…`, or Basic with it as the password. */
export function dashboardCredential(header: string | string[] | undefined): string | undefined {
  const bearer = bearerToken(header);
  if (bearer) return bearer;
  const value = Array.isArray(header) ? header[0] : header;
  const basic = value?.match(/^Basic\s+([A-Za-z0-9+/]+=*)$/i);
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/**
 * Bull Board at /admin/queues, behind an admin credential (never a user
 * token). Read-only: the truth of a fan-out is its row in PostgreSQL, and a
 * job removed or retried by hand would bypass the reconciler's bookkeeping.
 */
export async function mountQueueDashboard(app: NestFastifyApplication): Promise<void> {
  const credentials = app.get(AdminCredentials);
  const audit = app.get(AuditLog);
  const serverAdapter = new FastifyAdapter().setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    queues: Object.values(QUEUES).map(
      (name) => new BullMQAdapter(app.get<Queue>(getQueueToken(name)), { readOnlyMode: true }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Supernode queues' } },
  });

  await app.register(async (scope: FastifyInstance) => {
    scope.addHook('onRequest', async (request: FastifyRequest, reply) => {
      const checked = await credentials.check(dashboardCredential(request.headers.authorization));
      if (checked.kind === 'valid') return;
      if (checked.credentialId)
        await audit.record(checked.credentialId, 'credential_refused', null, {
          route: QUEUE_DASHBOARD_PATH,
        });
      const problem = Problem.unauthorized(
        'admin_credential_invalid',
        'An admin credential is required (as a bearer token, or as the password of HTTP Basic)',
      );
      sendProblem(reply.header('www-authenticate', BASIC_CHALLENGE), problem);
      return reply;
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: QUEUE_DASHBOARD_PATH });
  });
}
