import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FanoutProducer } from '../../src/sync/fanout.producer.js';
import { newAccount } from '../factories/accounts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

// The operators' files under deploy/: Prometheus rules and configuration
// checked and unit-tested by promtool (Debian's prometheus package, installed
// by scripts/test.sh), the systemd units by systemd-analyze, and every
// metric the dashboard and the rules read served by a running server.
const run = promisify(execFile);
const DEPLOY = path.resolve('deploy');

const promtool = (...args: string[]) => run('promtool', args, { cwd: DEPLOY });

/** Every supernode_ metric family named in a text, histogram suffixes taken off. */
const metricFamilies = (text: string): Set<string> =>
  new Set(
    [...text.matchAll(/supernode_[a-z0-9_]+/g)].map(([name]) =>
      name.replace(/_(bucket|count|sum)$/, ''),
    ),
  );

describe('deploy/: Prometheus rules and configuration', () => {
  it('promtool accepts the rules and the configuration', async () => {
    await promtool('check', 'rules', 'prometheus/alerts.yml');
    await promtool('check', 'config', 'prometheus/prometheus.yml');
  });

  it("each alert fires on the series that should raise it (promtool's unit tests)", async () => {
    const { stdout } = await promtool('test', 'rules', 'prometheus/alerts.test.yml');
    expect(stdout).toContain('SUCCESS');
  });
});

describe('deploy/: the metrics the dashboard and the alerts read', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp();
  });
  afterAll(() => world.close());

  it('are all served, and no sample carries the label Prometheus keeps for the target (job)', async () => {
    const dashboard = JSON.parse(
      await readFile(path.join(DEPLOY, 'grafana/supernode.json'), 'utf8'),
    ) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const expressions = dashboard.panels.flatMap((panel) => panel.targets.map((t) => t.expr));
    expect(expressions.length).toBeGreaterThan(10);
    const rules = await readFile(path.join(DEPLOY, 'prometheus/alerts.yml'), 'utf8');
    const used = metricFamilies([...expressions, rules].join('\n'));

    // A send and a fan-out job (enqueued as the reconciler would: Bob is
    // connected nowhere), so the histograms have samples to read.
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const sent = await alice.sendText({ accountId: bob.accountId }, 'scraped');
    await world.app
      .get(FanoutProducer)
      .enqueue([{ messageId: sent.messageId, deviceIds: [bob.deviceId] }]);
    const scrape = () => fetch(`${world.baseUrl}/metrics`).then((response) => response.text());
    const served = await waitFor('a fan-out job in the metrics', async () => {
      const text = await scrape();
      return text.includes('job_name="fanout-message"') ? text : undefined;
    });

    const missing = [...used].filter((name) => !served.includes(`# TYPE ${name} `));
    expect(missing).toEqual([]);
    expect(served).not.toMatch(/[{,]job="/);
  });
});

describe('deploy/systemd', () => {
  let unitDir: string;
  beforeAll(async () => {
    unitDir = await mkdtemp(path.join(tmpdir(), 'sn-units-'));
  });
  afterAll(() => rm(unitDir, { recursive: true, force: true }));

  it('systemd-analyze verify accepts the API, worker and migration units', async () => {
    const units = (await readdir(path.join(DEPLOY, 'systemd'))).filter((name) =>
      name.endsWith('.service'),
    );
    expect(units).toEqual(
      expect.arrayContaining([
        'supernode-api@.service',
        'supernode-worker.service',
        'supernode-migrate.service',
      ]),
    );
    for (const unit of units) {
      // The units name /usr/bin/node (Debian's); systemd-analyze checks that
      // it exists, so this machine's node stands in where it lives elsewhere.
      const text = await readFile(path.join(DEPLOY, 'systemd', unit), 'utf8');
      await writeFile(path.join(unitDir, unit), text.replaceAll('/usr/bin/node', process.execPath));
    }
    await copyFile(path.join(DEPLOY, 'systemd/supernode.env'), path.join(unitDir, 'supernode.env'));
    const instances = units.map((unit) => path.join(unitDir, unit.replace('@.', '@1.')));
    const { stderr } = await run('systemd-analyze', ['verify', '--man=no', ...instances], {
      cwd: unitDir,
    });
    expect(stderr).toBe('');
  });
});
