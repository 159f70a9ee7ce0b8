/**
 * deploy/prometheus/ through promtool (Debian's prometheus package, installed by `npm test`):
 * `check config`, `check rules`, `test rules`; plus what promtool cannot know: the jobs, ports and
 * intervals operators were promised, alert metadata and runbook anchors in docs/operations.md,
 * catalogue metric names in every rule, a promtool test that fires and one that stays silent for
 * every alert, and the `pnpm monitoring` command line.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseQuery, resolveMetric } from './index';
import { headingAnchors } from './markdown';
import { ALERTS_FILE, ALERTS_TEST_FILE, MONITORING_SCRIPT, OPERATIONS_DOC, PROMETHEUS_CONFIG, REPO_ROOT } from './paths';
import { readYaml } from './yaml';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}
interface PromConfig {
  global: Record<string, string>;
  rule_files: string[];
  scrape_configs: Array<{ job_name: string; metrics_path?: string; static_configs: Array<{ targets: string[] }> }>;
}
interface RuleTests {
  rule_files: string[];
  tests: Array<{
    alert_rule_test?: Array<{ alertname: string; eval_time: string; exp_alerts: Array<{ exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }> }>;
  }>;
}

const REQUIRED_ALERTS = [
  'HighIngestionLatency',
  'HighErrorRate',
  'StorageNearCapacity',
  'CoreDown',
  'ControlPlaneDown',
  'CoreNodeUnhealthy',
  'SlowQueries',
  'ProjectionErrors',
  'PipelineStalled',
  'ReplayFailures',
  'WebSocketErrors',
];

const rules = readYaml<RuleFile>(ALERTS_FILE).groups.flatMap((g) => g.rules);
const alerts = rules.filter((r): r is Rule & { alert: string } => r.alert !== undefined);

function promtool(args: string[], cwd = REPO_ROOT): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`promtool could not run (${r.error.message}); npm test installs Debian's prometheus package`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('promtool', () => {
  it('check config: prometheus.yml and the rule files it loads are valid', () => {
    const r = promtool(['check', 'config', PROMETHEUS_CONFIG]);
    expect(r).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
    expect(r.output).toMatch(/alerts\.yml\s+SUCCESS: \d+ rules found/);
  });

  it('check rules: alerts.yml is valid', () => {
    const r = promtool(['check', 'rules', ALERTS_FILE]);
    expect(r).toEqual({ status: 0, output: expect.stringContaining(`SUCCESS: ${rules.length} rules found`) });
  });

  it('test rules: every alert fires past its threshold and duration and stays silent just below', () => {
    // From another folder, as an operator would run it: rule_files resolve against the test file.
    const r = promtool(['test', 'rules', ALERTS_TEST_FILE], path.join(REPO_ROOT, 'docs'));
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });
});

describe('prometheus.yml', () => {
  const config = readYaml<PromConfig>(PROMETHEUS_CONFIG);

  it('scrapes the core on 8080 and the control plane on 8081 every 15 s, evaluating the alerts every 15 s', () => {
    expect(config.global).toMatchObject({ scrape_interval: '15s', evaluation_interval: '15s' });
    expect(config.rule_files).toEqual(['alerts.yml']);
    expect(
      config.scrape_configs.map((s) => ({ job: s.job_name, path: s.metrics_path ?? '/metrics', targets: s.static_configs.flatMap((c) => c.targets) })),
    ).toEqual([
      { job: 'allsource-core', path: '/metrics', targets: ['127.0.0.1:8080'] },
      { job: 'allsource-control-plane', path: '/metrics', targets: ['127.0.0.1:8081'] },
    ]);
  });

  it('documents 30 days of retention, which `pnpm monitoring` and docker-compose.yml pass', () => {
    expect(readFileSync(PROMETHEUS_CONFIG, 'utf8')).toContain('--storage.tsdb.retention.time=30d');
    expect(readFileSync(OPERATIONS_DOC, 'utf8')).toContain('--storage.tsdb.retention.time=30d');
  });
});

describe('alerts.yml', () => {
  const docAnchors = headingAnchors(readFileSync(OPERATIONS_DOC, 'utf8'));
  const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));

  it('has every alert operators were promised', () => {
    expect(REQUIRED_ALERTS.filter((a) => !alerts.some((r) => r.alert === a))).toEqual([]);
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
  });

  it.each(REQUIRED_ALERTS)('%s: severity, summary, a description naming the instance or node, a runbook in docs/operations.md', (name) => {
    const a = alerts.find((r) => r.alert === name)!;
    expect(['critical', 'warning']).toContain(a.labels?.severity);
    expect(a.annotations?.summary).toBeTruthy();
    expect(a.annotations?.description).toMatch(/\{\{ \$labels\.(instance|node_id) \}\}/);
    expect(a.annotations?.runbook_url).toBe(`docs/operations.md#${name.toLowerCase()}`);
    expect(docAnchors).toContain(name.toLowerCase());
  });

  it('names only catalogue metrics, `up` and its own recording rules; histograms through the rate of their _bucket series', () => {
    const problems: string[] = [];
    for (const r of rules) {
      for (const s of parseQuery(r.expr).selectors) {
        const name = s.metric ?? '';
        if (name === 'up' || recorded.has(name)) continue;
        const resolved = resolveMetric(name);
        if (!resolved) problems.push(`${r.alert ?? r.record}: ${name} is not a catalogue series`);
        else if (resolved.series !== 'value' && s.directCall !== 'rate' && s.directCall !== 'increase') problems.push(`${r.alert}: ${name} outside rate()`);
        else if (resolved.def.type === 'counter' && s.directCall !== 'rate' && s.directCall !== 'increase') problems.push(`${r.alert}: counter ${name} outside rate()`);
      }
    }
    expect(problems).toEqual([]);
    for (const name of ['HighIngestionLatency', 'SlowQueries']) {
      const q = parseQuery(alerts.find((a) => a.alert === name)!.expr);
      expect(q.calls.slice(0, 3)).toEqual(['histogram_quantile', 'sum', 'rate']);
      expect(q.selectors.map((s) => s.metric)).toEqual([expect.stringMatching(/_duration_seconds_bucket$/)]);
    }
  });

  it('HighErrorRate is a ratio of failed to all ingestion requests, not a bare rate', () => {
    const q = parseQuery(alerts.find((a) => a.alert === 'HighErrorRate')!.expr);
    expect(q.selectors.map((s) => s.metric).sort()).toEqual([
      'allsource_ingestion_duration_seconds_count',
      'allsource_ingestion_errors_total',
      'allsource_ingestion_errors_total',
    ]);
    expect(alerts.find((a) => a.alert === 'HighErrorRate')!.expr).toMatch(/\/\s*\(/);
  });

  it('StorageNearCapacity compares against one configurable threshold, 10 GB by default', () => {
    expect(rules.find((r) => r.record === 'allsource:storage_size_alert_threshold_bytes')?.expr).toBe('vector(10e9)');
    expect(alerts.find((a) => a.alert === 'StorageNearCapacity')!.expr).toContain('allsource:storage_size_alert_threshold_bytes');
  });
});

describe('alerts.test.yml', () => {
  const tests = readYaml<RuleTests>(ALERTS_TEST_FILE);

  it('loads alerts.yml and, for every alert, expects it silent at one time and firing, with annotations, at another', () => {
    expect(tests.rule_files).toEqual(['alerts.yml']);
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const a of alerts) {
      const own = cases.filter((c) => c.alertname === a.alert);
      expect([a.alert, own.some((c) => c.exp_alerts.length === 0)]).toEqual([a.alert, true]);
      const firing = own.filter((c) => c.exp_alerts.length > 0);
      expect([a.alert, firing.length > 0]).toEqual([a.alert, true]);
      for (const c of firing) {
        for (const e of c.exp_alerts) {
          expect(e.exp_labels?.severity).toBe(a.labels?.severity);
          expect(Object.keys(e.exp_annotations ?? {}).sort()).toEqual(['description', 'runbook_url', 'summary']);
        }
      }
    }
  });
});

describe('pnpm monitoring', () => {
  it('is a root script that runs Prometheus on loopback with the deploy config and 30 days of retention', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.monitoring).toBe('node scripts/monitoring.mjs');
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    const r = spawnSync(process.execPath, [MONITORING_SCRIPT, '--dry-run'], { cwd: REPO_ROOT, encoding: 'utf8', env, timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      bin: 'prometheus',
      args: [
        `--config.file=${PROMETHEUS_CONFIG}`,
        `--storage.tsdb.path=${path.join(REPO_ROOT, 'data', 'prometheus')}`,
        '--storage.tsdb.retention.time=30d',
        '--web.listen-address=127.0.0.1:9090',
      ],
    });
  });

  it('refuses a bad setting with a message instead of starting', () => {
    const r = spawnSync(process.execPath, [MONITORING_SCRIPT], { cwd: REPO_ROOT, encoding: 'utf8', env: { PATH: process.env.PATH, PROMETHEUS_LISTEN: 'nope' }, timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('PROMETHEUS_LISTEN must be host:port');
  });
});
