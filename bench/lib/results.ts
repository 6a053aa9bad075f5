import type { LatencySummary } from './latency.js';
import type { MachineInfo } from './provision.js';

export type Status = 'ok' | 'skipped' | 'failed';

/** `>=` for throughputs, `<=` for latencies and durations. */
export interface Target {
  op: '>=' | '<=';
  value: number;
}

/** One number of one scenario or ceiling. */
export interface Figure {
  /** Stable key, e.g. "ingest.msgs_per_s"; ceilings are looked up by it. */
  key: string;
  label: string;
  value: number | null;
  unit: string;
  target?: Target;
  /** Keys of the raw figures this one is compared with (summed when several). */
  ceiling?: string[];
  /** A bound on value / ceiling (e.g. ingest at least 50% of the raw insert ceiling). */
  ratioTarget?: Target;
  note?: string;
}

export interface ItemResult {
  name: string;
  kind: 'ceiling' | 'scenario' | 'warm-up';
  description: string;
  targets?: string;
  status: Status;
  /** Why it was skipped or failed. */
  reason?: string;
  seconds: number;
  figures: Figure[];
  /** Everything else worth keeping: parameters, latency summaries, counts. */
  details: Record<string, unknown>;
  /** Latency samples for the chart (not written to the JSON). */
  series?: { name: string; samples: Float64Array }[];
}

export interface ResolvedFigure extends Figure {
  scenario: string;
  status: Status;
  met: boolean | null;
  ceilingValue: number | null;
  /** value / ceiling value. */
  ratio: number | null;
}

export interface RunReport {
  runId: string;
  mode: 'quick' | 'full';
  machine: MachineInfo;
  settings: Record<string, unknown>;
  seconds: number;
  items: Omit<ItemResult, 'series'>[];
  figures: ResolvedFigure[];
  /**
   * The shared API's answers to POST /v1/messages over the whole run, by
   * status, from its /metrics: the 409s are the SDK learning its recipients'
   * devices; anything 5xx is a server fault.
   */
  sendAnswers?: Record<string, number>;
}

const meets = (value: number, target: Target) =>
  target.op === '>=' ? value >= target.value : value <= target.value;

/** Resolves each figure's ceiling and target once every item has run. */
export function resolveFigures(items: ItemResult[]): ResolvedFigure[] {
  const byKey = new Map<string, number | null>();
  for (const item of items) for (const figure of item.figures) byKey.set(figure.key, figure.value);
  const resolved: ResolvedFigure[] = [];
  for (const item of items) {
    // A warm-up that ran is no figure; one that failed still shows why.
    if (item.kind === 'warm-up' && item.status === 'ok') continue;
    const figures: Figure[] = item.figures.length
      ? item.figures
      : [
          {
            key: item.name,
            label: item.targets
              ? `${item.description} (target: ${item.targets})`
              : item.description,
            value: null,
            unit: '',
            note: item.reason,
          },
        ];
    for (const figure of figures) {
      let ceilingValue: number | null = null;
      if (figure.ceiling?.length) {
        const parts = figure.ceiling.map((key) => byKey.get(key));
        ceilingValue = parts.every((part) => typeof part === 'number')
          ? parts.reduce<number>((total, part) => total + (part ?? 0), 0)
          : null;
      }
      const value = figure.value;
      const ratio = value !== null && ceilingValue ? value / ceilingValue : null;
      const checks: (boolean | null)[] = [];
      if (figure.target) checks.push(value === null ? null : meets(value, figure.target));
      if (figure.ratioTarget) checks.push(ratio === null ? null : meets(ratio, figure.ratioTarget));
      resolved.push({
        ...figure,
        scenario: item.name,
        status: item.status,
        // A target known to be missed is missed, even if another cannot be checked.
        met: checks.includes(false)
          ? false
          : checks.length === 0 || checks.includes(null)
            ? null
            : true,
        ceilingValue,
        ratio,
      });
    }
  }
  return resolved;
}

export type { LatencySummary };
