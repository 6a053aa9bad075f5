import type { ResolvedFigure, RunReport } from './results.js';

/** A number for people: thousands separated, at most 3 significant decimals. */
export function formatNumber(value: number | null): string {
  if (value === null || Number.isNaN(value)) return '—';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits });
}

function ratioText(figure: ResolvedFigure): string {
  if (figure.ratio === null) return '—';
  // Throughputs read as a share of the ceiling, latencies and sizes as a multiple.
  return figure.target?.op === '>=' || figure.unit.endsWith('/s')
    ? `${(figure.ratio * 100).toFixed(0)}%`
    : `${figure.ratio.toFixed(2)}×`;
}

const opText = (op: '>=' | '<=') => (op === '>=' ? '≥' : '≤');

const escapeCell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function markdownTable(figures: ResolvedFigure[]): string {
  const rows = [
    '| scenario | figure | value | target | met | raw ceiling | ratio | note |',
    '| --- | --- | ---: | --- | :---: | ---: | ---: | --- |',
  ];
  for (const figure of figures) {
    const value =
      figure.status === 'ok'
        ? `${formatNumber(figure.value)} ${figure.unit}`.trim()
        : figure.status;
    const targets: string[] = [];
    if (figure.target) {
      targets.push(
        `${opText(figure.target.op)} ${formatNumber(figure.target.value)} ${figure.unit}`.trim(),
      );
    }
    if (figure.ratioTarget) {
      targets.push(
        `${opText(figure.ratioTarget.op)} ${formatNumber(figure.ratioTarget.value * 100)}% of ceiling`,
      );
    }
    const target = targets.join(' and ');
    const met = figure.met === null ? '' : figure.met ? 'yes' : '**no**';
    const ceiling =
      figure.ceilingValue === null
        ? ''
        : `${formatNumber(figure.ceilingValue)} ${figure.unit} (${figure.ceiling?.join(' + ')})`;
    rows.push(
      `| ${figure.scenario} | ${escapeCell(figure.label)} | ${value} | ${target} | ${met} | ${ceiling} | ${ratioText(figure)} | ${escapeCell(figure.note ?? '')} |`,
    );
  }
  return rows.join('\n');
}

export function markdownReport(report: RunReport): string {
  const m = report.machine;
  const lines = [
    `# Supernode benchmark run ${report.runId} (${report.mode})`,
    '',
    `- date: ${m.date}`,
    `- commit: ${m.commit}`,
    `- host: ${m.host.cpus} cores (${m.host.cpuModel}), ${m.host.memoryGiB} GiB, ${m.host.kernel}, Node ${m.host.node}`,
    `- PostgreSQL ${m.postgres.version}: ${Object.entries(m.postgres.settings)
      .map(([name, value]) => `${name}=${value}`)
      .join(', ')}`,
    `- Redis ${m.redis.version}: ${Object.entries(m.redis.settings)
      .map(([name, value]) => `${name}=${value}`)
      .join(', ')}`,
    `- open files: soft ${m.limits.openFilesSoft}, hard ${m.limits.openFilesHard}`,
    `- run: ${report.seconds.toFixed(0)} s`,
    ...(Number(report.settings.apiProcesses ?? 1) > 1
      ? [`- server: ${String(report.settings.apiProcesses)} API processes behind one port`]
      : []),
    ...(report.sendAnswers
      ? [
          `- POST /v1/messages answered: ${
            Object.entries(report.sendAnswers)
              .map(([status, count]) => `${status} × ${count}`)
              .join(', ') || 'nothing'
          }`,
        ]
      : []),
    '',
    markdownTable(report.figures),
    '',
  ];
  const notes = report.items.filter((item) => item.reason);
  if (notes.length) {
    lines.push('Skipped or failed:', '');
    for (const item of notes) lines.push(`- ${item.name}: ${item.status} — ${item.reason}`);
    lines.push('');
  }
  return lines.join('\n');
}
