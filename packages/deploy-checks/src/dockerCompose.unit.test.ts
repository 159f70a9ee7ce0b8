/**
 * deploy/docker-compose.yml cannot run here (no Docker engine), so its structure is checked: the
 * services, pinned images, host networking on loopback, every bind mount pointing at a file or
 * folder of deploy/, Prometheus reading the mounted prometheus.yml with 30 days of retention, and
 * Grafana's provisioning (datasource, dashboard provider) matching the mounted paths.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { DASHBOARD_FILE, DEPLOY_DIR, DOCKER_COMPOSE_FILE, GRAFANA_DASHBOARD_PROVIDERS, GRAFANA_DATASOURCES, PROMETHEUS_CONFIG } from './paths';
import { readYaml } from './yaml';

interface ComposeService {
  image?: string;
  command?: string[];
  network_mode?: string;
  ports?: unknown;
  volumes?: string[];
  environment?: Record<string, string>;
  depends_on?: string[];
  restart?: string;
}
interface Compose {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = readYaml<Compose>(DOCKER_COMPOSE_FILE);
const ALLOWED_SERVICE_KEYS = new Set(['image', 'command', 'network_mode', 'volumes', 'environment', 'depends_on', 'restart', 'ports', 'user']);

/** `source:target[:mode]` of a short volume syntax entry. */
function mount(spec: string): { source: string; target: string; mode: string | undefined } {
  const [source, target, mode, ...rest] = spec.split(':');
  if (!source || !target || rest.length > 0) throw new Error(`bad volume '${spec}'`);
  return { source, target, mode };
}

/** Where a path inside a container comes from on the host (bind mounts only). */
function hostPathOf(service: ComposeService, containerPath: string): string | undefined {
  for (const v of service.volumes ?? []) {
    const { source, target } = mount(v);
    if (!source.startsWith('.')) continue;
    if (containerPath === target || containerPath.startsWith(`${target}/`)) {
      return path.join(DEPLOY_DIR, source, path.relative(target, containerPath));
    }
  }
  return undefined;
}

it('defines Prometheus and Grafana with pinned images and only known keys', () => {
  expect(Object.keys(compose.services).sort()).toEqual(['grafana', 'prometheus']);
  for (const [name, s] of Object.entries(compose.services)) {
    expect([name, Object.keys(s).filter((k) => !ALLOWED_SERVICE_KEYS.has(k))]).toEqual([name, []]);
    expect(s.image).toMatch(/^[a-z0-9/_-]+:v?\d+\.\d+\.\d+$/);
    expect(s.restart).toBe('unless-stopped');
  }
  expect(compose.services.prometheus!.image).toMatch(/^prom\/prometheus:/);
  expect(compose.services.grafana!.image).toMatch(/^grafana\/grafana(-oss)?:/);
  expect(compose.services.grafana!.depends_on).toEqual(['prometheus']);
});

it('uses host networking (no port mappings) so prometheus.yml reaches the services at 127.0.0.1, and keeps both UIs on loopback', () => {
  for (const s of Object.values(compose.services)) {
    expect(s.network_mode).toBe('host');
    expect(s.ports).toBeUndefined();
  }
  expect(compose.services.prometheus!.command).toContain('--web.listen-address=127.0.0.1:9090');
  expect(compose.services.grafana!.environment).toMatchObject({ GF_SERVER_HTTP_ADDR: '127.0.0.1', GF_SERVER_HTTP_PORT: '3000' });
});

it('mounts only files of deploy/ (read-only) and named volumes that are declared', () => {
  for (const [name, s] of Object.entries(compose.services)) {
    for (const v of s.volumes ?? []) {
      const { source, mode } = mount(v);
      if (source.startsWith('.')) {
        expect([name, v, existsSync(path.join(DEPLOY_DIR, source))]).toEqual([name, v, true]);
        expect([name, v, mode]).toEqual([name, v, 'ro']);
      } else {
        expect(Object.keys(compose.volumes ?? {})).toContain(source);
      }
    }
  }
});

it('runs Prometheus on the mounted prometheus.yml (its alerts beside it) with 30 days of retention on a volume', () => {
  const p = compose.services.prometheus!;
  const configArg = p.command!.find((a) => a.startsWith('--config.file='))!;
  const hostConfig = hostPathOf(p, configArg.slice('--config.file='.length));
  expect(hostConfig).toBe(PROMETHEUS_CONFIG);
  expect(hostPathOf(p, path.posix.join(path.posix.dirname(configArg.slice('--config.file='.length)), 'alerts.yml'))).toBe(path.join(path.dirname(PROMETHEUS_CONFIG), 'alerts.yml'));
  expect(p.command).toContain('--storage.tsdb.retention.time=30d');
  const tsdb = p.command!.find((a) => a.startsWith('--storage.tsdb.path='))!.slice('--storage.tsdb.path='.length);
  expect(p.volumes!.map(mount).find((m) => m.target === tsdb)?.source).toBe('prometheus-data');
});

it("provisions Grafana's datasource and the dashboard from the mounted folders", () => {
  const g = compose.services.grafana!;
  expect(hostPathOf(g, '/etc/grafana/provisioning/datasources/prometheus.yml')).toBe(GRAFANA_DATASOURCES);
  expect(hostPathOf(g, '/etc/grafana/provisioning/dashboards/allsource.yml')).toBe(GRAFANA_DASHBOARD_PROVIDERS);

  const datasources = readYaml<{ apiVersion: number; datasources: Array<Record<string, unknown>> }>(GRAFANA_DATASOURCES);
  expect(datasources.apiVersion).toBe(1);
  expect(datasources.datasources).toEqual([
    expect.objectContaining({ type: 'prometheus', access: 'proxy', url: 'http://127.0.0.1:9090', isDefault: true, jsonData: expect.objectContaining({ timeInterval: '15s' }) }),
  ]);

  const providers = readYaml<{ apiVersion: number; providers: Array<{ type: string; options: { path: string } }> }>(GRAFANA_DASHBOARD_PROVIDERS);
  expect(providers.apiVersion).toBe(1);
  expect(providers.providers).toHaveLength(1);
  const provider = providers.providers[0]!;
  expect(provider.type).toBe('file');
  const hostDashboards = hostPathOf(g, provider.options.path);
  expect(hostDashboards).toBe(path.dirname(DASHBOARD_FILE));
  expect(statSync(hostDashboards!).isDirectory()).toBe(true);
  expect(readdirSync(hostDashboards!).filter((f) => f.endsWith('.json'))).toEqual([path.basename(DASHBOARD_FILE)]);
  expect(hostPathOf(g, g.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!)).toBe(DASHBOARD_FILE);
  // Grafana's data survives a restart.
  expect(g.volumes!.map(mount).find((m) => m.target === '/var/lib/grafana')?.source).toBe('grafana-data');
});
