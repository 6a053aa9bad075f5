import { EnvError, loadEnv, tracingOn } from './env.js';

describe('loadEnv: settings that go in pairs', () => {
  const key = 'A'.repeat(87);
  const secret = 'B'.repeat(43);

  it.each([
    [{ VAPID_PUBLIC_KEY: key }, /VAPID_PRIVATE_KEY/],
    [{ VAPID_PRIVATE_KEY: secret }, /VAPID_PRIVATE_KEY/],
    [{ TURN_URLS: 'turn:turn.example.org:3478' }, /TURN_SECRET/],
    [{ TURN_SECRET: 'a-secret-of-16-chars' }, /TURN_SECRET/],
    [{ TURN_URLS: 'http://turn.example.org', TURN_SECRET: 'a-secret-of-16-chars' }, /TURN_URLS/],
  ])('refuses %j, naming the variable', (source, name) => {
    expect(() => loadEnv(source)).toThrow(EnvError);
    expect(() => loadEnv(source)).toThrow(name);
  });

  it('takes both or neither', () => {
    expect(loadEnv({ VAPID_PUBLIC_KEY: key, VAPID_PRIVATE_KEY: secret }).VAPID_PUBLIC_KEY).toBe(
      key,
    );
    const turn = loadEnv({
      TURN_URLS: 'turn:a:3478, turns:b:5349',
      TURN_SECRET: 'a-secret-of-16-chars',
    });
    expect(turn.TURN_URLS).toEqual(['turn:a:3478', 'turns:b:5349']);
    expect(loadEnv({}).TURN_URLS).toEqual([]);
  });
});

describe('loadEnv: the at-rest master key', () => {
  it('takes 32 bytes in base64, and none', () => {
    const key = Buffer.alloc(32, 9);
    expect(loadEnv({ AT_REST_MASTER_KEY: key.toString('base64') }).AT_REST_MASTER_KEY).toEqual(key);
    expect(loadEnv({}).AT_REST_MASTER_KEY).toBeUndefined();
    expect(loadEnv({ AT_REST_MASTER_KEY: '' }).AT_REST_MASTER_KEY).toBeUndefined();
  });

  it('refuses another length, naming the variable and not the value', () => {
    const short = Buffer.alloc(16, 9).toString('base64');
    expect(() => loadEnv({ AT_REST_MASTER_KEY: short })).toThrow(/AT_REST_MASTER_KEY/);
    try {
      loadEnv({ AT_REST_MASTER_KEY: short });
    } catch (error) {
      expect((error as Error).message).not.toContain(short);
    }
  });
});

describe('loadEnv: tracing', () => {
  it('is on with an OTLP endpoint, off without one (or with an empty one)', () => {
    expect(tracingOn(loadEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }))).toBe(true);
    expect(
      tracingOn(loadEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })),
    ).toBe(true);
    expect(tracingOn(loadEnv({}))).toBe(false);
    expect(tracingOn(loadEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }))).toBe(false);
  });

  it('refuses an endpoint that is not an http(s) URL, naming the variable', () => {
    expect(() => loadEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
  });
});

describe('loadEnv: a Redis Cluster', () => {
  it('takes seed nodes as comma-separated redis:// URLs, and none by default', () => {
    expect(
      loadEnv({ REDIS_CLUSTER_NODES: 'redis://10.0.0.1:7000, redis://10.0.0.2:7000' })
        .REDIS_CLUSTER_NODES,
    ).toEqual(['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000']);
    expect(loadEnv({}).REDIS_CLUSTER_NODES).toEqual([]);
  });

  it('refuses a node that is not a redis:// URL, naming the variable', () => {
    expect(() => loadEnv({ REDIS_CLUSTER_NODES: '10.0.0.1:7000' })).toThrow(/REDIS_CLUSTER_NODES/);
    expect(() => loadEnv({ REDIS_CLUSTER_NODES: 'http://10.0.0.1:7000' })).toThrow(
      /REDIS_CLUSTER_NODES/,
    );
  });
});
