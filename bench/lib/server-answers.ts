// What the API answered to the run's sends, read from its own /metrics
// (prom-client text): the request histogram's _count per status.
const REQUESTS_COUNT = 'supernode_http_request_duration_seconds_count';

/** Requests with this method and route template, counted by answer status. */
export function answersByStatus(
  metricsText: string,
  method: string,
  route: string,
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(`${REQUESTS_COUNT}{`)) continue;
    const labelsEnd = line.lastIndexOf('}');
    const labels = Object.fromEntries(
      [...line.slice(REQUESTS_COUNT.length + 1, labelsEnd).matchAll(/(\w+)="([^"]*)"/g)].map(
        ([, name, value]) => [name, value],
      ),
    );
    if (labels.method !== method || labels.route !== route || !labels.status) continue;
    counts[labels.status] = (counts[labels.status] ?? 0) + Number(line.slice(labelsEnd + 1));
  }
  return counts;
}

/**
 * The API's answers to POST /v1/messages so far, by status (with several API
 * processes behind one port, those of whichever answered this request).
 */
export async function sendAnswers(baseUrl: string): Promise<Record<string, number>> {
  const response = await fetch(new URL('/metrics', baseUrl), {
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  return answersByStatus(await response.text(), 'POST', '/v1/messages');
}
