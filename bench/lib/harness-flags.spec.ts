import { parseHarnessFlags } from './harness-flags.js';

describe('parseHarnessFlags', () => {
  it('reads switches, numbers (with = or a space) and scenario names', () => {
    expect(
      parseHarnessFlags(['--quick', '--budget=90', '--rate', '500', 'ingest', '--no-ceilings']),
    ).toEqual({
      names: ['ingest'],
      quick: true,
      withCeilings: false,
      keep: false,
      help: false,
      overrides: { budgetSeconds: 90, latencyRate: 500 },
    });
    expect(parseHarnessFlags([])).toMatchObject({ names: [], quick: false, withCeilings: true });
    expect(parseHarnessFlags(['-h']).help).toBe(true);
  });

  it('refuses unknown options and numbers that are not positive (whole, for processes)', () => {
    expect(() => parseHarnessFlags(['--fast'])).toThrow(/Unknown option '--fast'/);
    expect(() => parseHarnessFlags(['--budget=0'])).toThrow('bad --budget: 0');
    expect(() => parseHarnessFlags(['--concurrency=x'])).toThrow('bad --concurrency: x');
    expect(() => parseHarnessFlags(['--api-processes=1.5'])).toThrow(/a whole number/);
    expect(() => parseHarnessFlags(['--purge-rows=1e5x'])).toThrow('bad --purge-rows: 1e5x');
    expect(parseHarnessFlags(['--purge-rows=200000']).overrides).toEqual({ purgeRows: 200000 });
  });
});
