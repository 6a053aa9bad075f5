import { formatNumber, markdownReport, markdownTable } from './format.js';
import type { MachineInfo } from './provision.js';
import type { ResolvedFigure, RunReport } from './results.js';

describe('formatNumber', () => {
  it('separates thousands and keeps fewer decimals the larger the number', () => {
    expect(
      [1234567.891, 100.5, 12.345, 1.23456, 0.12345, 0.5, 0, -1234.4].map(formatNumber),
    ).toEqual(['1,234,568', '101', '12.3', '1.23', '0.123', '0.5', '0', '-1,234']);
  });

  it('shows a dash for a missing or undefined number', () => {
    expect([formatNumber(null), formatNumber(Number.NaN)]).toEqual(['—', '—']);
  });
});

function resolved(extra: Partial<ResolvedFigure>): ResolvedFigure {
  return {
    key: 'k',
    label: 'label',
    value: 1,
    unit: '',
    scenario: 'scenario',
    status: 'ok',
    met: null,
    ceilingValue: null,
    ratio: null,
    ...extra,
  };
}

const ingest = resolved({
  scenario: 'ingest',
  label: 'accepted messages',
  value: 1234.5,
  unit: 'msgs/s',
  target: { op: '>=', value: 1000 },
  ceiling: ['raw-insert.msgs_per_s'],
  ratioTarget: { op: '>=', value: 0.5 },
  met: true,
  ceilingValue: 2469,
  ratio: 0.5,
});

const liveP99 = resolved({
  scenario: 'live-latency',
  label: 'p99 | end\nto end',
  value: 12.6,
  unit: 'ms',
  target: { op: '<=', value: 10 },
  ceiling: ['raw-bullmq.p99', 'raw-frames.p99'],
  met: false,
  ceilingValue: 4,
  ratio: 3.15,
  note: 'tail|spiky',
});

const skippedPurge = resolved({
  scenario: 'purge',
  label: 'Purge',
  value: null,
  status: 'skipped',
  note: 'no ceiling',
});

const HEADER = [
  '| scenario | figure | value | target | met | raw ceiling | ratio | note |',
  '| --- | --- | ---: | --- | :---: | ---: | ---: | --- |',
];

describe('markdownTable', () => {
  it('writes a header and one row per figure, escaping pipes and newlines in labels and notes', () => {
    expect(markdownTable([ingest, liveP99, skippedPurge]).split('\n')).toEqual([
      ...HEADER,
      '| ingest | accepted messages | 1,235 msgs/s | ≥ 1,000 msgs/s and ≥ 50% of ceiling | yes | 2,469 msgs/s (raw-insert.msgs_per_s) | 50% |  |',
      '| live-latency | p99 \\| end to end | 12.6 ms | ≤ 10 ms | **no** | 4 ms (raw-bullmq.p99 + raw-frames.p99) | 3.15× | tail\\|spiky |',
      '| purge | Purge | skipped |  |  |  | — | no ceiling |',
    ]);
  });

  it('writes a ratio target as a whole percentage', () => {
    const figure = resolved({ ...ingest, ratioTarget: { op: '>=', value: 0.55 } });
    expect(cell(markdownTable([figure]), 'target')).toBe('≥ 1,000 msgs/s and ≥ 55% of ceiling');
  });

  it('writes only the header when there are no figures', () => {
    expect(markdownTable([])).toBe(HEADER.join('\n'));
  });

  it('shows the status instead of the value of an item that did not run to the end', () => {
    const failed = resolved({ value: 5, unit: 'ms', status: 'failed' });
    expect(cell(markdownTable([failed]), 'value')).toBe('failed');
  });

  it('shows a throughput’s ratio as a share and any other ratio as a multiple', () => {
    const ratioOf = (extra: Partial<ResolvedFigure>) =>
      cell(markdownTable([resolved({ ratio: 0.254, ...extra })]), 'ratio');
    expect(ratioOf({ unit: 'msgs/s' })).toBe('25%');
    expect(ratioOf({ unit: '', target: { op: '>=', value: 1 } })).toBe('25%');
    expect(ratioOf({ unit: 'KiB' })).toBe('0.25×');
    expect(ratioOf({ unit: 'ms', target: { op: '<=', value: 1 } })).toBe('0.25×');
    expect(ratioOf({ ratio: null })).toBe('—');
  });
});

/** One cell of a one-figure table (its label and note hold no pipe). */
const COLUMNS = { value: 2, target: 3, ratio: 6 };

function cell(table: string, column: keyof typeof COLUMNS): string {
  return table.split('\n')[2].split(' | ')[COLUMNS[column]];
}

const machine: MachineInfo = {
  date: '2025-01-02T03:04:05.000Z',
  commit: 'abc123def456',
  host: { cpus: 8, cpuModel: 'Test CPU', memoryGiB: 16, kernel: '6.1.0', node: 'v20.20.2' },
  postgres: { version: '16.2', settings: { synchronous_commit: 'off', fsync: 'on' } },
  redis: { version: '7.2.4', settings: { appendonly: 'no' } },
  limits: { openFilesSoft: 1024, openFilesHard: 524288 },
};

function report(extra: Partial<RunReport>): RunReport {
  return {
    runId: 'run-1',
    mode: 'full',
    machine,
    settings: {},
    seconds: 123.4,
    items: [],
    figures: [ingest],
    ...extra,
  };
}

describe('markdownReport', () => {
  it('states the machine, the API processes, the table and what was skipped or failed', () => {
    const items = [
      { name: 'ingest', status: 'ok' as const },
      { name: 'purge', status: 'skipped' as const, reason: 'no ceiling' },
      { name: 'fanout', status: 'failed' as const, reason: 'timed out' },
    ].map((entry) => ({
      kind: 'scenario' as const,
      description: '',
      seconds: 1,
      figures: [],
      details: {},
      ...entry,
    }));
    const figures = [ingest, skippedPurge];
    expect(markdownReport(report({ settings: { apiProcesses: 3 }, items, figures }))).toBe(
      [
        '# Supernode benchmark run run-1 (full)',
        '',
        '- date: 2025-01-02T03:04:05.000Z',
        '- commit: abc123def456',
        '- host: 8 cores (Test CPU), 16 GiB, 6.1.0, Node v20.20.2',
        '- PostgreSQL 16.2: synchronous_commit=off, fsync=on',
        '- Redis 7.2.4: appendonly=no',
        '- open files: soft 1024, hard 524288',
        '- run: 123 s',
        '- server: 3 API processes behind one port',
        '',
        markdownTable(figures),
        '',
        'Skipped or failed:',
        '',
        '- purge: skipped — no ceiling',
        '- fanout: failed — timed out',
        '',
      ].join('\n'),
    );
  });

  it('leaves out the API process line for a single process and the list when nothing was skipped', () => {
    for (const settings of [{}, { apiProcesses: 1 }]) {
      const text = markdownReport(report({ settings }));
      expect(text).not.toContain('API processes');
      expect(text).not.toContain('Skipped or failed');
      expect(text.endsWith(`${markdownTable([ingest])}\n`)).toBe(true);
    }
  });

  it('states how the API answered the sends, when it was read', () => {
    const sent = markdownReport(report({ sendAnswers: { '201': 1200, '409': 4 } }));
    expect(sent).toContain('\n- POST /v1/messages answered: 201 × 1200, 409 × 4\n');
    expect(markdownReport(report({}))).not.toContain('answered');
  });
});
