import { spawnSync } from 'node:child_process';
import { EnvError, loadEnv } from '../../src/config/env.js';

describe('the environment schema', () => {
  it('serves a local run with no variables at all', () => {
    expect(loadEnv({})).toMatchObject({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/supernode',
      REDIS_URL: 'redis://127.0.0.1:6379',
      PORT: 3000,
      ROLE: 'all',
      MAX_BODY_BYTES: 256 * 1024,
      MAX_TTL_SECONDS: 30 * 24 * 3600,
      MAX_DEVICES_PER_ACCOUNT: 10,
      MAX_CONVERSATION_MEMBERS: 1000,
    });
  });

  it('reads numbers and booleans from their text', () => {
    expect(loadEnv({ PORT: '8080', TRUST_PROXY: 'false', ROLE: 'worker' })).toMatchObject({
      PORT: 8080,
      TRUST_PROXY: false,
      ROLE: 'worker',
    });
  });

  it.each([
    [undefined, false],
    ['', false],
    ['0', false],
    ['1', 1],
    ['2', 2],
    ['127.0.0.1', ['127.0.0.1']],
    ['10.0.0.0/8, ::1, fd00::/8,loopback', ['10.0.0.0/8', '::1', 'fd00::/8', 'loopback']],
  ])('reads TRUST_PROXY=%s as %j', (value, parsed) => {
    expect(loadEnv(value === undefined ? {} : { TRUST_PROXY: value }).TRUST_PROXY).toEqual(parsed);
  });

  it('refuses TRUST_PROXY=true, which would trust a client-written X-Forwarded-For', () => {
    expect(() => loadEnv({ TRUST_PROXY: 'true' })).toThrow(
      /^Invalid environment:\n {2}TRUST_PROXY: true would trust a client-written X-Forwarded-For/,
    );
  });

  it.each([
    [undefined, []],
    ['', []],
    ['*', '*'],
    ['https://app.example.com', ['https://app.example.com']],
    ['https://a.example, http://127.0.0.1:5173', ['https://a.example', 'http://127.0.0.1:5173']],
  ])('reads CORS_ORIGINS=%s as %j', (value, parsed) => {
    expect(loadEnv(value === undefined ? {} : { CORS_ORIGINS: value }).CORS_ORIGINS).toEqual(
      parsed,
    );
  });

  it.each([
    'https://app.example.com/',
    'app.example.com',
    'https://a.example/path',
    'https://a.example,*',
  ])('refuses CORS_ORIGINS=%s, which is not a list of origins', (value) => {
    expect(() => loadEnv({ CORS_ORIGINS: value })).toThrow(/CORS_ORIGINS: expected \*, or origins/);
  });

  it('reads the metrics settings; empty counts as unset', () => {
    expect(loadEnv({})).toMatchObject({ METRICS_HOST: '127.0.0.1' });
    expect(loadEnv({}).METRICS_PORT).toBeUndefined();
    expect(loadEnv({ METRICS_PORT: '', METRICS_TOKEN: '' })).toMatchObject({
      METRICS_PORT: undefined,
      METRICS_TOKEN: undefined,
    });
    expect(loadEnv({ METRICS_PORT: '9464' }).METRICS_PORT).toBe(9464);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['ROLE', 'everything'],
    ['DATABASE_URL', 'not a url'],
    ['MAX_DEVICES_PER_ACCOUNT', '0'],
    ['REDIS_PREFIX', 'has:colon'],
    ['TRUST_PROXY', 'maybe'],
    ['TRUST_PROXY', '10.0.0.0/99'],
    ['TRUST_PROXY', '127.0.0.1,'],
    ['TRUST_PROXY', '-1'],
    ['METRICS_PORT', '70000'],
    ['METRICS_TOKEN', 'short'],
    ['RATE_LIMIT_DIRECTORY', '0'],
  ])('refuses %s=%s with a message naming the variable', (variable, value) => {
    expect(() => loadEnv({ [variable]: value })).toThrow(EnvError);
    expect(() => loadEnv({ [variable]: value })).toThrow(
      new RegExp(`^Invalid environment:\\n  ${variable}:`),
    );
  });

  it('refuses a default TTL above the maximum', () => {
    expect(() => loadEnv({ DEFAULT_TTL_SECONDS: '100', MAX_TTL_SECONDS: '10' })).toThrow(
      /DEFAULT_TTL_SECONDS/,
    );
  });

  it('refuses a headers timeout above the request timeout', () => {
    expect(() =>
      loadEnv({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' }),
    ).toThrow(/HTTP_HEADERS_TIMEOUT_MS/);
  });

  // Needs the build (npm test builds first).
  it('the server process stops with the variable named and no secret echoed', () => {
    const result = spawnSync(process.execPath, ['dist/src/main.js'], {
      env: {
        PATH: process.env.PATH,
        PORT: 'abc',
        DATABASE_URL: 'postgres://user:s3cret-password@127.0.0.1:5432/x',
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('PORT');
    expect(result.stderr + result.stdout).not.toContain('s3cret-password');
  });
});
