import { Writable } from 'node:stream';
import pino from 'pino';
import { REDACTED_FIELDS } from './logging.js';

describe('the log redaction', () => {
  it('writes [redacted] for secret fields, at the top level and one level down', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino({ redact: { paths: REDACTED_FIELDS, censor: '[redacted]' } }, sink);
    logger.warn(
      {
        token: 'snt_secret-token',
        deviceId: 'd-1',
        request: { authorization: 'Bearer secret', body: 'ciphertext', wrappedKey: 'key' },
        keys: { privateKey: 'private', signature: 'sig' },
      },
      'something failed',
    );
    const line = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(line).toMatchObject({
      token: '[redacted]',
      deviceId: 'd-1',
      request: { authorization: '[redacted]', body: '[redacted]', wrappedKey: '[redacted]' },
      keys: { privateKey: '[redacted]', signature: '[redacted]' },
    });
    expect(lines[0]).not.toMatch(/secret-token|Bearer secret|ciphertext|"private"|"key"|"sig"/);
  });
});
