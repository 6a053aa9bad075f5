import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Problem, problemBody } from '../common/problem.js';
import { ENV, type Env } from '../config/env.js';
import { metricsTokenMatches } from './metrics-access.js';
import { MetricsService } from './metrics.service.js';

/**
 * /metrics on METRICS_HOST:METRICS_PORT, apart from the public API, so a
 * firewall can keep it to the scraper. Runs in every role: a worker's job
 * metrics can be scraped this way too. Nothing runs when METRICS_PORT is unset.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MetricsServer.name);
  private server: Server | undefined;

  constructor(
    private readonly metrics: MetricsService,
    @Inject(ENV) private readonly env: Env,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { METRICS_PORT: port, METRICS_HOST: host, METRICS_TOKEN: token } = this.env;
    if (port === undefined) {
      if (token === undefined && this.env.ROLE !== 'worker') {
        this.logger.log(
          '/metrics is open on the public port; set METRICS_TOKEN or METRICS_PORT to restrict it',
        );
      }
      return;
    }
    const server = createServer((request, response) => {
      this.answer(request, response).catch(() => {
        if (!response.headersSent) this.sendProblem(response, internalError());
        else response.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.logger.log({ url: `http://${host}:${this.port}/metrics` }, 'metrics served');
  }

  /** The port the metrics server listens on (METRICS_PORT=0 picks a free one). */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      this.sendProblem(response, Problem.notFound('not_found', 'Not found'));
      return;
    }
    const token = this.env.METRICS_TOKEN;
    if (token !== undefined && !metricsTokenMatches(request.headers.authorization, token)) {
      this.sendProblem(
        response,
        Problem.unauthorized('token_invalid', 'Missing or wrong metrics token'),
      );
      return;
    }
    const text = await this.metrics.registry.metrics();
    response.writeHead(200, { 'content-type': this.metrics.registry.contentType });
    response.end(request.method === 'HEAD' ? undefined : text);
  }

  private sendProblem(response: ServerResponse, problem: Problem): void {
    response.writeHead(problem.status, {
      ...problem.headers,
      'content-type': 'application/problem+json',
    });
    response.end(JSON.stringify(problemBody(problem)));
  }
}

const internalError = () =>
  new Problem(500, 'internal_error', 'Internal server error', 'Something went wrong');
