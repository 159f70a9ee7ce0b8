import * as path from 'node:path';

/** The repository root (this file is packages/deploy-checks/src/paths.ts, or dist/paths.js). */
export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const DEPLOY_DIR = path.join(REPO_ROOT, 'deploy');

export const PROMETHEUS_CONFIG = path.join(DEPLOY_DIR, 'prometheus', 'prometheus.yml');
export const ALERTS_FILE = path.join(DEPLOY_DIR, 'prometheus', 'alerts.yml');
export const ALERTS_TEST_FILE = path.join(DEPLOY_DIR, 'prometheus', 'alerts.test.yml');
export const DASHBOARD_FILE = path.join(DEPLOY_DIR, 'grafana', 'dashboards', 'allsource.json');
export const GRAFANA_DATASOURCES = path.join(DEPLOY_DIR, 'grafana', 'provisioning', 'datasources', 'prometheus.yml');
export const GRAFANA_DASHBOARD_PROVIDERS = path.join(DEPLOY_DIR, 'grafana', 'provisioning', 'dashboards', 'allsource.yml');
export const DOCKER_COMPOSE_FILE = path.join(DEPLOY_DIR, 'docker-compose.yml');
export const OPERATIONS_DOC = path.join(REPO_ROOT, 'docs', 'operations.md');
export const MONITORING_SCRIPT = path.join(REPO_ROOT, 'scripts', 'monitoring.mjs');
export const CONTROL_PLANE_MAIN = path.join(REPO_ROOT, 'services', 'control-plane', 'dist', 'main.js');

/** The dashboard's uid: links and provisioning depend on it, so it never changes. */
export const DASHBOARD_UID = 'allsource-overview';
