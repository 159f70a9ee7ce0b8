#!/usr/bin/env node
// `pnpm monitoring` / `npm run monitoring`: Prometheus for operators without Docker.
//
// Runs the `prometheus` binary (Debian: `sudo apt-get install prometheus`) on loopback with
// deploy/prometheus/prometheus.yml (scrapes the core on 127.0.0.1:8080 and the control plane on
// 127.0.0.1:8081, evaluates deploy/prometheus/alerts.yml), keeping 30 days of data in
// ./data/prometheus. Start the services first (`npm start`). Stop with Ctrl-C; SIGHUP reloads the
// configuration. See docs/operations.md.
//
// Settings (environment):
//   PROMETHEUS_BIN        the binary                     (default: prometheus on PATH)
//   PROMETHEUS_CONFIG     the configuration file         (default: deploy/prometheus/prometheus.yml)
//   PROMETHEUS_LISTEN     address of the UI and API      (default: 127.0.0.1:9090)
//   PROMETHEUS_DATA_DIR   TSDB folder                    (default: ./data/prometheus)
//   PROMETHEUS_RETENTION  --storage.tsdb.retention.time  (default: 30d)
// Arguments after `--` go to prometheus as they are. `--dry-run` prints the command (JSON) and exits.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function log(msg) {
  process.stderr.write(`[monitoring] ${msg}\n`);
}

function fail(msg) {
  log(msg);
  process.exit(1);
}

const argv = process.argv.slice(2);
const dashDash = argv.indexOf('--');
const own = dashDash === -1 ? argv : argv.slice(0, dashDash);
const passThrough = dashDash === -1 ? [] : argv.slice(dashDash + 1);
if (own.includes('--help') || own.includes('-h')) {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
  const header = lines.slice(0, lines.findIndex((l) => !l.startsWith('//')));
  process.stdout.write(`${header.map((l) => l.replace(/^\/\/ ?/, '')).join('\n')}\n`);
  process.exit(0);
}
const unknown = own.filter((a) => a !== '--dry-run');
if (unknown.length > 0) fail(`unknown argument(s) ${unknown.join(' ')} (see --help; prometheus flags go after --)`);

const bin = process.env.PROMETHEUS_BIN || 'prometheus';
const config = resolve(process.env.PROMETHEUS_CONFIG || join(root, 'deploy', 'prometheus', 'prometheus.yml'));
const listen = process.env.PROMETHEUS_LISTEN || '127.0.0.1:9090';
const dataDir = resolve(process.env.PROMETHEUS_DATA_DIR || join(root, 'data', 'prometheus'));
const retention = process.env.PROMETHEUS_RETENTION || '30d';

const listenMatch = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(listen);
if (!listenMatch) fail(`PROMETHEUS_LISTEN must be host:port, got '${listen}'`);
const host = listenMatch[1].replace(/^\[|\]$/g, '');
const port = Number(listenMatch[2]);
if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(retention)) {
  fail(`PROMETHEUS_RETENTION must be a Prometheus duration such as 30d, got '${retention}'`);
}

const args = [
  `--config.file=${config}`,
  `--storage.tsdb.path=${dataDir}`,
  `--storage.tsdb.retention.time=${retention}`,
  `--web.listen-address=${listen}`,
  ...passThrough,
];

if (own.includes('--dry-run')) {
  process.stdout.write(`${JSON.stringify({ bin, args })}\n`);
  process.exit(0);
}

const version = spawnSync(bin, ['--version'], { encoding: 'utf8' });
if (version.error || version.status !== 0) {
  fail(
    `cannot run '${bin}' (${version.error?.message ?? `exit ${version.status}`}). Install Prometheus: on Debian/Ubuntu ` +
      "`sudo apt-get install prometheus` (that package also starts a system Prometheus on :9090: stop it with " +
      '`sudo systemctl disable --now prometheus` or run this with PROMETHEUS_LISTEN=127.0.0.1:9091), or set PROMETHEUS_BIN.',
  );
}
if (!existsSync(config)) fail(`configuration file ${config} not found (PROMETHEUS_CONFIG)`);
if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
  log(`warning: listening on ${listen}, not loopback: Prometheus' UI and API have no authentication`);
}

/** Resolves when host:port can be bound (nothing else listens there). */
function portFree() {
  return new Promise((resolvePort) => {
    const srv = net.createServer();
    srv.once('error', (err) => resolvePort(err.code === 'EADDRINUSE' ? false : true));
    srv.listen({ host: host === 'localhost' ? '127.0.0.1' : host || '0.0.0.0', port }, () => srv.close(() => resolvePort(true)));
  });
}

/** host:port targets of the configuration's static_configs (for a friendly warning only). */
function targetsOf(text) {
  const out = [];
  for (const m of text.matchAll(/targets:\s*\[([^\]]*)\]/g)) {
    for (const t of m[1].split(',')) {
      const v = t.trim().replace(/^['"]|['"]$/g, '');
      if (v) out.push(v);
    }
  }
  return out;
}

async function warnAboutDownTargets() {
  for (const target of targetsOf(readFileSync(config, 'utf8'))) {
    try {
      const res = await fetch(`http://${target}/health`, { signal: AbortSignal.timeout(1500) });
      await res.arrayBuffer();
    } catch {
      log(`note: nothing answers at http://${target} yet; start the services (npm start) or edit ${config}`);
    }
  }
}

if (!(await portFree())) {
  fail(
    `${listen} is already in use (another Prometheus? Debian's package runs one on :9090 as a service). ` +
      'Stop it or choose another address, e.g. PROMETHEUS_LISTEN=127.0.0.1:9091 pnpm monitoring',
  );
}
mkdirSync(dataDir, { recursive: true });

log(`${version.stdout.split('\n')[0]}`);
log(`config ${config}, data ${dataDir} (retention ${retention})`);
log(`UI and API on http://${listen} — targets: http://${listen}/targets, alerts: http://${listen}/alerts`);
const child = spawn(bin, args, { stdio: 'inherit' });
child.on('error', (err) => fail(`could not start ${bin}: ${err.message}`));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child.exitCode === null) child.kill(signal);
  });
}
child.on('exit', (code, signal) => {
  log(`prometheus exited (${code ?? signal})`);
  process.exit(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1));
});
setTimeout(() => void warnAboutDownTargets(), 2000).unref();
