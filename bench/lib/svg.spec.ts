import { type ChartSeries, latencyChartSvg } from './svg.js';

const series = (name: string, values: number[]): ChartSeries => ({
  name,
  samples: Float64Array.from(values),
});

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Fails unless `svg` is a standalone SVG document whose tags nest and whose text is escaped. */
function expectWellFormed(svg: string): void {
  expect(svg.startsWith('<svg ')).toBe(true);
  expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
  expect(svg.endsWith('</svg>')).toBe(true);
  const open: string[] = [];
  let roots = 0;
  for (const [, closing, name, selfClosing] of svg.matchAll(/<(\/?)([a-z]+)\b[^<>]*?(\/?)>/g)) {
    if (closing) expect(open.pop()).toBe(name);
    else if (!selfClosing && open.push(name) === 1) roots++;
  }
  expect([open, roots]).toEqual([[], 1]);
  // Outside its tags no bare < or >, and every & starts an entity.
  expect(svg.replaceAll(/<[^<>]*>/g, '')).not.toMatch(/[<>]/);
  expect(svg).not.toMatch(/&(?!(amp|lt|gt|quot|apos);)/);
  expect(svg).not.toMatch(/NaN|Infinity|undefined/);
}

describe('latencyChartSvg', () => {
  it('draws a well-formed chart with the title and every series name, XML-escaped', () => {
    const svg = latencyChartSvg('Accept <p99> & deliver', 'ms', [
      series('api <fast> & lean', range(1, 100)),
      series('second', range(50, 150)),
    ]);
    expectWellFormed(svg);
    expect(svg).toContain('>Accept &lt;p99&gt; &amp; deliver</text>');
    expect(svg).toContain('api &lt;fast&gt; &amp; lean: ');
    expect(svg).toContain('>second: ');
    expect(svg).not.toContain('<fast>');
  });

  it('states the count, p50, p99 and max of every series in the legend', () => {
    const svg = latencyChartSvg('t', 'ms', [series('a', range(1, 100)), series('b', [2.5])]);
    expect(svg).toContain('>a: n=100, p50 50.00, p99 99.00, max 100.00 ms</text>');
    expect(svg).toContain('>b: n=1, p50 2.50, p99 2.50, max 2.50 ms</text>');
  });

  it('draws one cumulative line per series that has samples, and leaves empty ones out', () => {
    const svg = latencyChartSvg('t', 'ms', [
      series('a', range(1, 10)),
      series('empty', []),
      series('c', range(5, 20)),
    ]);
    expectWellFormed(svg);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg).not.toContain('empty');
  });

  it('turns the axis logarithmic only when the samples span more than two decades', () => {
    const axis = (values: number[]) => {
      const svg = latencyChartSvg('t', 'ms', [series('a', values)]);
      expectWellFormed(svg);
      return />(ms(, log scale)?)<\/text>/.exec(svg)?.[1];
    };
    expect(axis([0.1, 1, 10, 100, 1000])).toBe('ms, log scale');
    expect(axis(range(1, 50))).toBe('ms');
  });

  it('stays finite when every sample is the same, even zero', () => {
    expectWellFormed(latencyChartSvg('t', 'ms', [series('zeros', [0, 0, 0])]));
    expectWellFormed(latencyChartSvg('t', 'ms', [series('fives', [5, 5])]));
  });

  it('still yields a valid chart, saying so, when there are no samples at all', () => {
    for (const input of [[], [series('empty', [])]]) {
      const svg = latencyChartSvg('Nothing & more', 'ms', input);
      expectWellFormed(svg);
      expect(svg).toContain('>Nothing &amp; more</text>');
      expect(svg).toContain('>no samples</text>');
    }
  });
});
