import { execFileSync } from 'node:child_process';
import {
  createDecipheriv,
  createECDH,
  createHmac,
  createPublicKey,
  randomBytes,
  randomUUID,
  verify,
} from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { WebPushSubscription } from '@supernode/client';

/** A push as the double received and checked it. */
export interface ReceivedPush {
  endpoint: string;
  headers: IncomingHttpHeaders;
  ttl: number;
  urgency: string;
  topic: string | undefined;
  /** The VAPID claims and the key that signed them (verified). */
  vapid: { aud: string; exp: number; sub: string; publicKey: string };
  /** The RFC 8291 plaintext: what the browser would hand the service worker. */
  plaintext: Buffer;
  receivedAt: number;
  /** The status the double answered. */
  status: number;
}

interface Subscriber {
  ecdh: ReturnType<typeof createECDH>;
  auth: Buffer;
  /** Statuses to answer next (then 201), with their headers. */
  answers: Answer[];
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** Never answer: the server must give up by itself. */
  stall?: true;
  /** A body of this many bytes after the status, written until the client hangs up. */
  bodyBytes?: number;
}

/** How an answer with a stall or a long body ended, as the double saw it. */
export interface AnswerEnd {
  endpoint: string;
  /** From the request's arrival until the client closed the connection. */
  closedAfterMs: number;
  /** Body bytes written before it did. */
  bodyBytesWritten: number;
}

/**
 * A Web Push service on loopback, for tests: a real HTTPS server with a
 * certificate from a throwaway certificate authority (the server under test
 * trusts it through NODE_EXTRA_CA_CERTS). Each request's VAPID JWT (ES256,
 * RFC 8292) is verified and its aes128gcm body (RFC 8291) decrypted here with
 * code of its own, not web-push's: what the server sends must be what a real
 * push service and browser accept.
 */
export class PushDouble {
  readonly pushes: ReceivedPush[] = [];
  /** Requests the double could not verify or decrypt (answered 400). */
  readonly failures: string[] = [];
  readonly answerEnds: AnswerEnd[] = [];
  private readonly subscribers = new Map<string, Subscriber>();

  private constructor(
    private readonly server: https.Server,
    private readonly directory: string,
    readonly caPath: string,
    readonly origin: string,
  ) {}

  static async start(): Promise<PushDouble> {
    const directory = mkdtempSync(path.join(tmpdir(), 'push-double-'));
    const file = (name: string) => path.join(directory, name);
    const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=supernode test push CA',
    );
    openssl(
      'req',
      ...ec,
      '-keyout',
      file('server.key'),
      '-out',
      file('server.csr'),
      '-subj',
      '/CN=localhost',
    );
    writeFileSync(file('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    openssl(
      'x509',
      '-req',
      '-in',
      file('server.csr'),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-out',
      file('server.pem'),
      '-days',
      '2',
      '-extfile',
      file('server.ext'),
    );
    const server = https.createServer({
      key: readFileSync(file('server.key')),
      cert: readFileSync(file('server.pem')),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const double = new PushDouble(server, directory, file('ca.pem'), `https://localhost:${port}`);
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const arrived = Date.now();
        const answer = double.receive(request.url ?? '', request.headers, Buffer.concat(chunks));
        if (!answer.stall && !answer.bodyBytes) {
          response.writeHead(answer.status, answer.headers).end();
          return;
        }
        let written = 0;
        response.socket?.once('close', () =>
          double.answerEnds.push({
            endpoint: `${double.origin}${request.url}`,
            closedAfterMs: Date.now() - arrived,
            bodyBytesWritten: written,
          }),
        );
        if (answer.stall) return;
        response.writeHead(answer.status, answer.headers);
        const chunk = Buffer.alloc(64 * 1024, 1);
        const writeMore = () => {
          while (written < answer.bodyBytes! && !response.destroyed) {
            written += chunk.length;
            if (!response.write(chunk)) return void response.once('drain', writeMore);
          }
          response.end();
        };
        writeMore();
      });
    });
    return double;
  }

  /** A new subscription, as a browser's PushManager would make it. */
  subscribe(): WebPushSubscription {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const auth = randomBytes(16);
    const endpoint = `${this.origin}/push/${randomUUID()}`;
    this.subscribers.set(endpoint, { ecdh, auth, answers: [] });
    return {
      endpoint,
      expirationTime: null,
      keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
    };
  }

  /** The next pushes to `endpoint` get these answers, in order (then 201). */
  answerNext(endpoint: string, ...answers: Answer[]): void {
    this.subscribers.get(endpoint)?.answers.push(...answers);
  }

  pushesTo(endpoint: string): ReceivedPush[] {
    return this.pushes.filter((push) => push.endpoint === endpoint);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    rmSync(this.directory, { recursive: true, force: true });
  }

  private receive(url: string, headers: IncomingHttpHeaders, body: Buffer): Answer {
    const endpoint = `${this.origin}${url}`;
    const subscriber = this.subscribers.get(endpoint);
    if (!subscriber) return { status: 404 };
    try {
      if (headers['content-encoding'] !== 'aes128gcm') throw new Error('not aes128gcm');
      const vapid = verifyVapid(headers.authorization, this.origin);
      const plaintext = decryptAes128gcm(body, subscriber.ecdh, subscriber.auth);
      const answer = subscriber.answers.shift() ?? { status: 201 };
      this.pushes.push({
        endpoint,
        headers,
        ttl: Number(headers.ttl),
        urgency: String(headers.urgency ?? 'normal'),
        topic: headers.topic as string | undefined,
        vapid,
        plaintext,
        receivedAt: Date.now(),
        status: answer.status,
      });
      return answer;
    } catch (error) {
      this.failures.push(`${url}: ${(error as Error).message}`);
      return { status: 400 };
    }
  }
}

/** Checks `Authorization: vapid t=<JWT>, k=<key>` (RFC 8292): an ES256 JWT signed by k, for this origin. */
function verifyVapid(authorization: string | undefined, origin: string): ReceivedPush['vapid'] {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  if (!match) throw new Error('no vapid authorization');
  const [, token, publicKey] = match;
  const [header, claims, signature] = token.split('.');
  const parsedHeader = JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg: string };
  if (parsedHeader.alg !== 'ES256') throw new Error(`JWT alg ${parsedHeader.alg}`);
  const point = Buffer.from(publicKey, 'base64url');
  if (point.length !== 65 || point[0] !== 4)
    throw new Error('k is not an uncompressed P-256 point');
  const key = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33).toString('base64url'),
    },
    format: 'jwk',
  });
  const signed = Buffer.from(`${header}.${claims}`);
  const valid = verify(
    'sha256',
    signed,
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  );
  if (!valid) throw new Error('VAPID signature does not verify');
  const parsed = JSON.parse(Buffer.from(claims, 'base64url').toString()) as ReceivedPush['vapid'];
  const nowSeconds = Date.now() / 1000;
  if (parsed.aud !== origin) throw new Error(`aud ${parsed.aud} is not ${origin}`);
  if (!(parsed.exp > nowSeconds && parsed.exp <= nowSeconds + 24 * 3600))
    throw new Error('exp out of range');
  if (!/^(mailto:|https:)/.test(parsed.sub)) throw new Error('sub is not a contact');
  return { ...parsed, publicKey };
}

const hmac = (key: Buffer, ...data: Buffer[]) => {
  const mac = createHmac('sha256', key);
  for (const part of data) mac.update(part);
  return mac.digest();
};

/** RFC 8291 §3.4 and RFC 8188: one record, header salt(16) ‖ rs(4) ‖ idlen(1) ‖ keyid(as_public). */
function decryptAes128gcm(
  body: Buffer,
  ecdh: ReturnType<typeof createECDH>,
  authSecret: Buffer,
): Buffer {
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20];
  const asPublic = body.subarray(21, 21 + idLength);
  const record = body.subarray(21 + idLength);
  if (record.length > recordSize) throw new Error('more than one record');
  const uaPublic = ecdh.getPublicKey();
  const sharedSecret = ecdh.computeSecret(asPublic);
  const prkKey = hmac(authSecret, sharedSecret);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = hmac(prkKey, keyInfo, Buffer.from([1]));
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0'), Buffer.from([1])).subarray(
    0,
    16,
  );
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0'), Buffer.from([1])).subarray(
    0,
    12,
  );
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([
    decipher.update(record.subarray(0, record.length - 16)),
    decipher.final(),
  ]);
  // The last record ends with the delimiter 0x02, then zero padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('no last-record delimiter');
  return padded.subarray(0, end);
}
