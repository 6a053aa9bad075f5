import { quantile, sortedCopy } from './latency.js';

/**
 * A dependency-free SVG chart of latency distributions: a histogram of the
 * first series and the cumulative distribution of every series, with the
 * first series' p50 and p99 marked. The x axis stops at the largest p99.9
 * (the tail beyond is stated in the legend, not drawn), and turns
 * logarithmic when the samples span more than two decades.
 */
export interface ChartSeries {
  name: string;
  samples: Float64Array;
}

const WIDTH = 880;
const HEIGHT = 440;
const MARGIN = { left: 64, right: 64, top: 48, bottom: 96 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
const BINS = 60;

const escapeXml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

function niceStep(range: number, ticks: number): number {
  const raw = range / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const scaled = raw / power;
  return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power;
}

export function latencyChartSvg(title: string, unit: string, series: ChartSeries[]): string {
  const plotted = series
    .filter((entry) => entry.samples.length > 0)
    .map((entry) => ({
      name: entry.name,
      sorted: sortedCopy(entry.samples),
    }));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  ];
  if (plotted.length === 0) {
    parts.push(
      `<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle">no samples</text>`,
      '</svg>',
    );
    return parts.join('\n');
  }
  const xMax = Math.max(...plotted.map((entry) => quantile(entry.sorted, 0.999))) * 1.05 || 1;
  const smallest = Math.min(...plotted.map((entry) => quantile(entry.sorted, 0.001)));
  const logScale = smallest > 0 && xMax / smallest > 100;
  const xMin = logScale ? 10 ** Math.floor(Math.log10(smallest)) : 0;
  // Position of a value along the axis, 0..1.
  const along = (value: number) => {
    const clamped = Math.min(Math.max(value, xMin), xMax);
    return logScale
      ? Math.log10(clamped / xMin) / Math.log10(xMax / xMin)
      : (clamped - xMin) / (xMax - xMin);
  };
  const x = (value: number) => MARGIN.left + along(value) * plotWidth;
  const yRight = (fraction: number) => MARGIN.top + plotHeight * (1 - fraction);

  // Histogram of the first series (share of samples per bin, left axis).
  const first = plotted[0].sorted;
  const counts = new Array<number>(BINS).fill(0);
  for (const value of first) counts[Math.min(BINS - 1, Math.floor(along(value) * BINS))]++;
  const maxShare = Math.max(...counts) / first.length || 1;
  const yLeft = (share: number) => MARGIN.top + plotHeight * (1 - share / maxShare);
  const binWidth = plotWidth / BINS;
  counts.forEach((count, bin) => {
    if (count === 0) return;
    const top = yLeft(count / first.length);
    parts.push(
      `<rect x="${(MARGIN.left + bin * binWidth).toFixed(1)}" y="${top.toFixed(1)}" width="${(binWidth - 1).toFixed(1)}" height="${(MARGIN.top + plotHeight - top).toFixed(1)}" fill="${COLORS[0]}" fill-opacity="0.25"/>`,
    );
  });

  // Axes and grid.
  const ticks: number[] = [];
  if (logScale) {
    for (let decade = xMin; decade <= xMax; decade *= 10) {
      for (const factor of [1, 2, 5]) if (decade * factor <= xMax) ticks.push(decade * factor);
    }
  } else {
    const step = niceStep(xMax, 8);
    for (let tick = 0; tick <= xMax; tick += step) ticks.push(tick);
  }
  for (const tick of ticks) {
    const position = x(tick).toFixed(1);
    parts.push(
      `<line x1="${position}" y1="${MARGIN.top}" x2="${position}" y2="${MARGIN.top + plotHeight}" stroke="#eee"/>`,
      `<text x="${position}" y="${MARGIN.top + plotHeight + 16}" text-anchor="middle">${Number(tick.toPrecision(6))}</text>`,
    );
  }
  for (let percent = 0; percent <= 100; percent += 25) {
    const position = yRight(percent / 100).toFixed(1);
    parts.push(
      `<line x1="${MARGIN.left}" y1="${position}" x2="${MARGIN.left + plotWidth}" y2="${position}" stroke="#eee"/>`,
      `<text x="${MARGIN.left + plotWidth + 6}" y="${position}" dominant-baseline="middle">${percent}%</text>`,
      `<text x="${MARGIN.left - 6}" y="${position}" text-anchor="end" dominant-baseline="middle">${(((maxShare * percent) / 100) * 100).toFixed(1)}%</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotWidth / 2}" y="${MARGIN.top + plotHeight + 34}" text-anchor="middle">${escapeXml(`${unit}${logScale ? ', log scale' : ''}`)}</text>`,
    `<text transform="translate(16 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(`share per bin (bars: ${plotted[0].name})`)}</text>`,
    `<text transform="translate(${WIDTH - 12} ${MARGIN.top + plotHeight / 2}) rotate(90)" text-anchor="middle">cumulative (lines)</text>`,
  );

  // CDF of every series.
  plotted.forEach((entry, index) => {
    const points: string[] = [];
    const stride = Math.max(1, Math.floor(entry.sorted.length / 800));
    for (let rank = 0; rank < entry.sorted.length; rank += stride) {
      points.push(
        `${x(entry.sorted[rank]).toFixed(1)},${yRight((rank + 1) / entry.sorted.length).toFixed(1)}`,
      );
    }
    points.push(`${x(entry.sorted[entry.sorted.length - 1]).toFixed(1)},${yRight(1).toFixed(1)}`);
    parts.push(
      `<polyline points="${points.join(' ')}" fill="none" stroke="${COLORS[index % COLORS.length]}" stroke-width="2"/>`,
    );
  });

  // p50 and p99 of the first series.
  for (const [label, q] of [
    ['p50', 0.5],
    ['p99', 0.99],
  ] as const) {
    const value = quantile(first, q);
    const position = x(value).toFixed(1);
    parts.push(
      `<line x1="${position}" y1="${MARGIN.top}" x2="${position}" y2="${MARGIN.top + plotHeight}" stroke="${COLORS[0]}" stroke-dasharray="4 3"/>`,
      `<text x="${position}" y="${MARGIN.top - 6}" text-anchor="middle" fill="${COLORS[0]}">${label} ${value.toFixed(2)}</text>`,
    );
  }

  // Legend.
  plotted.forEach((entry, index) => {
    const y = HEIGHT - MARGIN.bottom + 52 + index * 16;
    const summary = `n=${entry.sorted.length}, p50 ${quantile(entry.sorted, 0.5).toFixed(2)}, p99 ${quantile(entry.sorted, 0.99).toFixed(2)}, max ${entry.sorted[entry.sorted.length - 1].toFixed(2)} ${unit}`;
    parts.push(
      `<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + 24}" y2="${y}" stroke="${COLORS[index % COLORS.length]}" stroke-width="3"/>`,
      `<text x="${MARGIN.left + 30}" y="${y}" dominant-baseline="middle">${escapeXml(`${entry.name}: ${summary}`)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
