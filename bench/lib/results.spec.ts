import { type Figure, type ItemResult, resolveFigures } from './results.js';

function item(name: string, figures: Figure[], extra: Partial<ItemResult> = {}): ItemResult {
  return {
    name,
    kind: 'scenario',
    description: `${name} description`,
    status: 'ok',
    seconds: 1,
    figures,
    details: {},
    ...extra,
  };
}

const figure = (key: string, value: number | null, extra: Partial<Figure> = {}): Figure => ({
  key,
  label: key,
  value,
  unit: 'msgs/s',
  ...extra,
});

const rawInsert = (value: number | null) =>
  item('raw-insert', [figure('raw-insert.msgs_per_s', value)], { kind: 'ceiling' });

/** Ingest as the harness states it: at least 1000 msgs/s and at least 50% of the raw insert ceiling. */
const ingest = (value: number | null) =>
  item('ingest', [
    figure('ingest.msgs_per_s', value, {
      target: { op: '>=', value: 1000 },
      ceiling: ['raw-insert.msgs_per_s'],
      ratioTarget: { op: '>=', value: 0.5 },
    }),
  ]);

/** The resolved figure of one key. */
function resolvedOf(items: ItemResult[], key: string) {
  const found = resolveFigures(items).find((resolved) => resolved.key === key);
  if (!found) throw new Error(`no figure ${key}`);
  return found;
}

const outcome = (items: ItemResult[], key: string) => {
  const { ceilingValue, ratio, met } = resolvedOf(items, key);
  return { ceilingValue, ratio, met };
};

describe('resolveFigures', () => {
  it('keeps every figure in order, tagged with its item’s name and status', () => {
    const resolved = resolveFigures([rawInsert(2000), ingest(1200)]);
    expect(resolved.map(({ scenario, key, status }) => [scenario, key, status])).toEqual([
      ['raw-insert', 'raw-insert.msgs_per_s', 'ok'],
      ['ingest', 'ingest.msgs_per_s', 'ok'],
    ]);
    expect(resolved[1]).toMatchObject({ label: 'ingest.msgs_per_s', value: 1200, unit: 'msgs/s' });
  });

  it('looks a ceiling up by key in another item and divides the value by it', () => {
    expect(outcome([rawInsert(2000), ingest(1200)], 'ingest.msgs_per_s')).toEqual({
      ceilingValue: 2000,
      ratio: 0.6,
      met: true,
    });
  });

  it('finds a ceiling measured after the figure that uses it', () => {
    expect(outcome([ingest(1200), rawInsert(2000)], 'ingest.msgs_per_s').ceilingValue).toBe(2000);
  });

  it('gives a figure with neither target nor ceiling no verdict', () => {
    expect(outcome([rawInsert(2000)], 'raw-insert.msgs_per_s')).toEqual({
      ceilingValue: null,
      ratio: null,
      met: null,
    });
  });

  it('is not met when the ratio target fails although the absolute target is met', () => {
    expect(outcome([rawInsert(2400), ingest(1100)], 'ingest.msgs_per_s').met).toBe(false);
  });

  it('is not met when the absolute target fails although the ratio target is met', () => {
    expect(outcome([rawInsert(1000), ingest(900)], 'ingest.msgs_per_s')).toEqual({
      ceilingValue: 1000,
      ratio: 0.9,
      met: false,
    });
  });

  it('sums several ceiling keys and checks a <= target', () => {
    const p99 = (value: number) =>
      item('live-latency', [
        figure('live.p99_ms', value, {
          unit: 'ms',
          target: { op: '<=', value: 10 },
          ceiling: ['raw-bullmq.p99', 'raw-frames.p99'],
        }),
      ]);
    const ceilings = item('raw', [figure('raw-bullmq.p99', 1.5), figure('raw-frames.p99', 2.5)], {
      kind: 'ceiling',
    });
    expect(outcome([ceilings, p99(6)], 'live.p99_ms')).toEqual({
      ceilingValue: 4,
      ratio: 1.5,
      met: true,
    });
    expect(outcome([ceilings, p99(10)], 'live.p99_ms').met).toBe(true);
    expect(outcome([ceilings, p99(12)], 'live.p99_ms').met).toBe(false);
  });

  it('has no ceiling, ratio or verdict when the ceiling is missing or has no value', () => {
    const missing = { ceilingValue: null, ratio: null, met: null };
    expect(outcome([ingest(1200)], 'ingest.msgs_per_s')).toEqual(missing);
    expect(outcome([rawInsert(null), ingest(1200)], 'ingest.msgs_per_s')).toEqual(missing);
  });

  it('counts a missed target as missed even when the ceiling to check the ratio against is missing', () => {
    expect(outcome([ingest(800)], 'ingest.msgs_per_s')).toEqual({
      ceilingValue: null,
      ratio: null,
      met: false,
    });
  });

  it('does not sum a partial ceiling when one of its keys is missing', () => {
    const items = [
      item('raw', [figure('raw-a', 5)], { kind: 'ceiling' }),
      item('s', [figure('s.x', 10, { ceiling: ['raw-a', 'raw-b'] })]),
    ];
    expect(outcome(items, 's.x')).toEqual({ ceilingValue: null, ratio: null, met: null });
  });

  it('has no verdict on a figure without a value', () => {
    const items = [item('s', [figure('s.x', null, { target: { op: '>=', value: 1 } })])];
    expect(outcome(items, 's.x').met).toBeNull();
  });

  it('gives a skipped item without figures one placeholder carrying its reason', () => {
    const skipped = item('purge', [], {
      description: 'Purge of expired messages',
      targets: '≤ 60 s',
      status: 'skipped',
      reason: 'no raw-purge ceiling',
    });
    expect(resolveFigures([skipped])).toEqual([
      {
        key: 'purge',
        label: 'Purge of expired messages (target: ≤ 60 s)',
        value: null,
        unit: '',
        note: 'no raw-purge ceiling',
        scenario: 'purge',
        status: 'skipped',
        met: null,
        ceilingValue: null,
        ratio: null,
      },
    ]);
  });

  it('labels a placeholder with the bare description when the item states no targets', () => {
    const failed = item('fanout', [], { status: 'failed', reason: 'boom' });
    expect(resolveFigures([failed])).toMatchObject([
      { label: 'fanout description', status: 'failed', note: 'boom' },
    ]);
  });

  it('yields nothing for a warm-up that ran, but a placeholder for one that failed', () => {
    const warmUp = (status: 'ok' | 'failed') =>
      item('warm-up', [], { kind: 'warm-up', status, reason: status === 'ok' ? undefined : 'x' });
    expect(resolveFigures([warmUp('ok'), rawInsert(2000)]).map((f) => f.scenario)).toEqual([
      'raw-insert',
    ]);
    expect(resolveFigures([warmUp('failed')])).toMatchObject([
      { scenario: 'warm-up', status: 'failed', note: 'x', value: null },
    ]);
  });
});
