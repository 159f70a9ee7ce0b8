/**
 * @allsource/deploy-checks: tests of deploy/ (Prometheus configuration, alert rules and their
 * promtool tests, the Grafana dashboard and provisioning, docker-compose.yml, `pnpm monitoring`)
 * and the helpers they share. Nothing here ships; the tests run with `npm test`.
 */
export * from './paths';
export * from './promql';
export * from './dashboard';
export * from './yaml';
export * from './markdown';
