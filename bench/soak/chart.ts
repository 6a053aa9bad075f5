import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

// The soak's chart (bench/soak/): one panel per kind of quantity, each a line
// per series over the minutes of the run, with the end of the warm-up marked.

export interface ChartPanel {
  title: string;
  unit: string;
  /** Series name → points (minutes since the load began, value). */
  series: Record<string, { minute: number; value: number }[]>;
}

export async function soakChartSvg(
  title: string,
  panels: ChartPanel[],
  warmupMinutes: number,
): Promise<string> {
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    config: { font: 'sans-serif', view: { stroke: '#ccc' } },
    resolve: { scale: { color: 'independent' } },
    vconcat: panels.map((panel) => ({
      width: 720,
      height: 140,
      title: { text: `${panel.title} (${panel.unit})`, anchor: 'start', fontSize: 12 },
      layer: [
        {
          data: {
            values: Object.entries(panel.series).flatMap(([series, points]) =>
              points.map((point) => ({ series, ...point })),
            ),
          },
          mark: { type: 'line', strokeWidth: 1.5 },
          encoding: {
            x: { field: 'minute', type: 'quantitative', title: 'minutes of load' },
            y: { field: 'value', type: 'quantitative', title: panel.unit },
            color: { field: 'series', type: 'nominal', title: null },
          },
        },
        {
          data: { values: [{ minute: warmupMinutes }] },
          mark: { type: 'rule', strokeDash: [4, 4], color: '#888' },
          encoding: { x: { field: 'minute', type: 'quantitative' } },
        },
      ],
    })),
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}
