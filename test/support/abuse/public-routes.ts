/**
 * The routes served without a token, each with the reason. Every other route
 * the app registers must answer 401 without a valid token: the abuse suite
 * reads the routes from the running app and holds each to that, so a new
 * route is covered (or must be listed here) by itself.
 */
export const PUBLIC_ROUTES: Record<string, string> = {
  'POST /v1/accounts':
    'creating an account is how a client gets its first device (rate-limited per address)',
  'POST /v1/auth/challenge':
    'login step 1: a device proves itself by signing the challenge, not with a token',
  'POST /v1/auth/token': 'login step 2: trades the signed challenge for a token',
  'POST /v1/devices': 'linking a new device: the single-use link code is the credential',
  'GET /health/live': 'probes of the load balancer and orchestrator carry no token',
  'HEAD /health/live': 'the HEAD twin fastify adds to every GET',
  'GET /health/ready': 'probes of the load balancer and orchestrator carry no token',
  'HEAD /health/ready': 'the HEAD twin fastify adds to every GET',
  'GET /metrics': 'scraped by Prometheus (issue 15 item 10 may bind it to its own port or a token)',
  'HEAD /metrics': 'the HEAD twin fastify adds to every GET',
  'GET /v1/push/vapid':
    "the server's VAPID public key: a browser needs it before it has a subscription",
  'HEAD /v1/push/vapid': 'the HEAD twin fastify adds to every GET',
  'GET /v1/transparency': 'counts of legal holds and exports per month, for anyone: no identities',
  'HEAD /v1/transparency': 'the HEAD twin fastify adds to every GET',
};

export const routeKey = (route: { method: string; url: string }) => `${route.method} ${route.url}`;

export const isPublicRoute = (route: { method: string; url: string }) =>
  routeKey(route) in PUBLIC_ROUTES;
