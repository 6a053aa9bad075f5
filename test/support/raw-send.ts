import { randomUUID } from 'node:crypto';
import { SharedBoxKeys, sealMessage, type SupernodeClient } from '@supernode/client';

export interface RawAnswer {
  status: number;
  contentType: string | null;
  body: Record<string, unknown>;
}

/** One HTTP call with the client's token, returning status and JSON as they came (no SDK recovery). */
export async function rawCall(
  client: SupernodeClient,
  method: string,
  path: string,
  body?: unknown,
  rawBody?: string,
): Promise<RawAnswer> {
  const response = await fetch(new URL(path, client.baseUrl), {
    method,
    headers: {
      authorization: `Bearer ${client.currentToken}`,
      ...(body !== undefined || rawBody !== undefined
        ? { 'content-type': 'application/json' }
        : {}),
    },
    body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** A well-formed send body sealed for exactly the given devices (by their directory entries). */
export function sealedSend(
  sender: SupernodeClient,
  to: { accountId: string } | { conversationId: string },
  devices: { deviceId: string; boxKey: string }[],
  text = 'raw',
  clientMessageId = randomUUID(),
) {
  const sealed = sealMessage(
    new TextEncoder().encode(JSON.stringify({ type: 'text', text })),
    { deviceId: sender.deviceId, boxKeys: new SharedBoxKeys(sender.identity.keys.boxSecretKey) },
    clientMessageId,
    devices,
  );
  return { clientMessageId, to, ...sealed };
}
