import { parseArgs } from 'node:util';

/** The benchmark harness's command line, read (not yet resolved to scenarios). */
export interface HarnessFlags {
  names: string[];
  quick: boolean;
  withCeilings: boolean;
  keep: boolean;
  help: boolean;
  overrides: {
    budgetSeconds?: number;
    concurrency?: number;
    latencyRate?: number;
    apiProcesses?: number;
    purgeRows?: number;
  };
}

const positiveNumber = (flag: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new Error(`bad --${flag}: ${value}`);
  return number;
};

/**
 * `npm run bench -- [--quick] [--no-ceilings] [--keep] [--budget=S]
 * [--concurrency=N] [--rate=N] [--api-processes=N] [--purge-rows=N] [name...]`, through
 * node:util's parseArgs (an unknown option is an error).
 */
export function parseHarnessFlags(argv: string[]): HarnessFlags {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      'no-ceilings': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      budget: { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      'api-processes': { type: 'string' },
      'purge-rows': { type: 'string' },
    },
  });
  const apiProcesses = positiveNumber('api-processes', values['api-processes']);
  if (apiProcesses !== undefined && !Number.isInteger(apiProcesses))
    throw new Error(`bad --api-processes: ${apiProcesses} (a whole number)`);
  const purgeRows = positiveNumber('purge-rows', values['purge-rows']);
  if (purgeRows !== undefined && !Number.isInteger(purgeRows))
    throw new Error(`bad --purge-rows: ${purgeRows} (a whole number)`);
  const overrides: HarnessFlags['overrides'] = {
    budgetSeconds: positiveNumber('budget', values.budget),
    concurrency: positiveNumber('concurrency', values.concurrency),
    latencyRate: positiveNumber('rate', values.rate),
    apiProcesses,
    purgeRows,
  };
  return {
    names: positionals,
    quick: values.quick,
    withCeilings: !values['no-ceilings'],
    keep: values.keep,
    help: values.help,
    // Only the flags given: the rest keep the run's defaults.
    overrides: Object.fromEntries(
      Object.entries(overrides).filter(([, value]) => value !== undefined),
    ),
  };
}
