/**
 * The deployment files (config/prometheus, config/grafana) are checked without a
 * deployment: promtool validates the Prometheus config and rules and runs the rules' unit
 * tests, and every metric a rule or dashboard panel reads must be one the services export
 * (taken from a real scrape), so renaming a metric cannot silently break the dashboards.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '@foundation/platform';
import { skipUnlessInstalled } from '@foundation/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { entries, graphql, planDeployment, ServiceProcess, type Deployment } from './harness.js';

const prometheusDir = path.join(repoRoot, 'config/prometheus');
const dashboardFile = path.join(repoRoot, 'config/grafana/foundation-dashboard.json');

const promtool = !skipUnlessInstalled('promtool', 'prometheus');

const run = (args: string[]) =>
  execFileSync('promtool', args, { cwd: prometheusDir, encoding: 'utf8', stdio: 'pipe' });

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
}
const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as Dashboard;
const dashboardExprs = dashboard.panels.flatMap((p) =>
  p.targets.map((t) => ({ panel: p.title, expr: t.expr.replaceAll('$__rate_interval', '5m') })),
);
const alertExprs = (
  parseYaml(readFileSync(path.join(prometheusDir, 'alerts.yml'), 'utf8')) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  }
).groups.flatMap((g) => g.rules.map((r) => ({ panel: r.alert, expr: r.expr })));

describe.skipIf(!promtool)('prometheus files', () => {
  it('has a valid config and rules, and the rules pass their unit tests', () => {
    expect(run(['check', 'config', 'prometheus.yml'])).toContain('SUCCESS');
    expect(run(['test', 'rules', 'alerts.test.yml'])).toContain('SUCCESS');
  });

  it('has valid PromQL in every dashboard panel', () => {
    // promtool parses PromQL only in rule files: check each panel as a recording rule.
    const dir = mkdtempSync(path.join(tmpdir(), 'foundation-promql-'));
    try {
      const rules = dashboardExprs.map(
        (e, i) => `      - record: dashboard:panel_${i}\n        expr: ${JSON.stringify(e.expr)}`,
      );
      writeFileSync(
        path.join(dir, 'panels.yml'),
        `groups:\n  - name: panels\n    rules:\n${rules.join('\n')}\n`,
      );
      expect(run(['check', 'rules', path.join(dir, 'panels.yml')])).toContain(
        `SUCCESS: ${dashboardExprs.length} rules found`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('metrics used by rules and dashboards', () => {
  let deployment: Deployment;
  let system: ServiceProcess;
  beforeAll(async () => {
    deployment = await planDeployment();
    system = new ServiceProcess(entries.launcher, deployment.env);
    await system.waitFor('Foundation is ready');
  });
  afterAll(async () => {
    await system?.stop();
    await deployment?.cleanup();
  });

  it('are all exported by the services', async () => {
    await graphql(deployment.routerUrl, '{ users(first: 1) { totalCount } }');
    const exported = new Set<string>(['up']); // Prometheus adds `up` to every target.
    for (const url of [deployment.routerUrl, ...Object.values(deployment.subgraphUrls)]) {
      const text = await (await fetch(url.replace(/\/graphql$/, '/metrics'))).text();
      for (const match of text.matchAll(/^# TYPE (\w+) /gm)) exported.add(match[1]!);
    }
    const used = [...dashboardExprs, ...alertExprs].flatMap(({ panel, expr }) =>
      [...expr.matchAll(/\b([a-z_][a-z0-9_]*)\s*[{[]/g)].map((m) => ({
        panel,
        metric: m[1]!.replace(/_(bucket|sum|count)$/, ''),
      })),
    );
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((u) => !exported.has(u.metric))).toEqual([]);
  });
});
