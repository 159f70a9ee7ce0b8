#!/usr/bin/env node
// The README's commands, on a machine with only Node.js and npm:
//   npm start      install everything, build, run core + control plane on ./data
//   npm test       install everything (system tools included), build, run every test
//   npm run bench  install, build, run the benchmarks
// (`pnpm start|test|bench` do the same.) pnpm itself comes from the npm registry, pinned.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pnpmVersion = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1];
const underPnpm = (process.env.npm_config_user_agent ?? '').startsWith('pnpm/') && process.env.npm_execpath;
const pnpm = underPnpm ? [process.execPath, process.env.npm_execpath] : ['npx', '--yes', `pnpm@${pnpmVersion}`];

function log(msg) {
  process.stderr.write(`[allsource] ${msg}\n`);
}

function run(argv, options = {}) {
  const [cmd, ...args] = argv;
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.status !== 0) {
    log(`failed: ${argv.join(' ')} (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function install() {
  log(`installing dependencies with pnpm ${pnpmVersion}`);
  run([...pnpm, 'install', ...(process.env.CI ? ['--frozen-lockfile'] : [])]);
}

function build() {
  log('building (tsc -b: type-checks every package)');
  run([...pnpm, 'run', 'build']);
}

/** Debian packages the tests need (promtool for /metrics checks); installed when missing. */
function ensureSystemPackages(packages) {
  const missing = packages.filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  if (!has('apt-get')) {
    log(`missing system packages (${missing.join(', ')}) and no apt-get: install them and retry`);
    process.exit(1);
  }
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  log(`installing system packages: ${missing.join(', ')}`);
  run([...sudo, 'apt-get', 'update', '-qq']);
  run([...sudo, 'apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...missing], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

function test() {
  install();
  ensureSystemPackages(SYSTEM_TEST_PACKAGES);
  build();
  mkdirSync(join(root, 'test-artifacts'), { recursive: true });
  const report = join(root, 'test-artifacts', 'jest.json');
  const jest = spawnSync(process.execPath, [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci', '--json', `--outputFile=${report}`, ...process.argv.slice(3)], {
    cwd: root,
    stdio: 'inherit',
  });
  if (existsSync(report)) {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    // A plain closing line any CI can read.
    process.stdout.write(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed\n`);
  }
  process.exit(jest.status ?? 1);
}

function start() {
  install();
  build();
  // Both services read PORT/HOST/DATA_DIR; here each gets its own, wired to each other.
  const host = process.env.HOST ?? '127.0.0.1';
  const corePort = process.env.CORE_PORT ?? '8080';
  const controlPlanePort = process.env.CONTROL_PLANE_PORT ?? '8081';
  // Node.js flags for the core only (docs/configuration.md, "Runtime options"), e.g.
  // CORE_NODE_OPTIONS=--max-old-space-size=4096
  const coreNodeArgs = (process.env.CORE_NODE_OPTIONS ?? '').split(/\s+/).filter((a) => a !== '');
  const services = [
    ['core', join(root, 'services', 'core', 'dist', 'main.js'), { PORT: corePort, HOST: host, DATA_DIR: process.env.DATA_DIR ?? join(root, 'data') }, coreNodeArgs],
    [
      'control-plane',
      join(root, 'services', 'control-plane', 'dist', 'main.js'),
      {
        PORT: controlPlanePort,
        HOST: host,
        DATA_DIR: process.env.CONTROL_PLANE_DATA_DIR ?? join(root, 'data', 'control-plane'),
        CORE_NODES: process.env.CORE_NODES ?? `core-1=http://127.0.0.1:${corePort}`,
      },
    ],
  ];
  log(`core on http://${host}:${corePort}, control plane and dashboard on http://${host}:${controlPlanePort}`);
  const children = [];
  const launch = ([name, main, env, nodeArgs = []]) => {
    log(`starting ${name}${nodeArgs.length > 0 ? ` (node ${nodeArgs.join(' ')})` : ''}`);
    const child = spawn(process.execPath, [...nodeArgs, main], { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('exit', (code, signal) => {
      log(`${name} exited (${code ?? signal})`);
      for (const other of children) if (other !== child && other.exitCode === null) other.kill('SIGTERM');
      if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(code ?? 0);
    });
    children.push(child);
  };
  launch(services[0]);
  // The control plane starts once the core answers, so its first scrape finds the node up.
  const healthUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${corePort}/health`;
  const deadline = Date.now() + 30_000;
  const waitForCore = () =>
    fetch(healthUrl)
      .then(() => launch(services[1]))
      .catch(() => {
        if (children[0]?.exitCode !== null) return;
        if (Date.now() > deadline) return launch(services[1]);
        setTimeout(waitForCore, 200);
      });
  waitForCore();
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      for (const child of children) if (child.exitCode === null) child.kill(signal);
    });
  }
}

function bench() {
  install();
  build();
  run([...pnpm, '--filter', '@allsource/bench', 'run', 'bench', ...process.argv.slice(3)]);
}

// [command that must exist, Debian package providing it]
const SYSTEM_TEST_PACKAGES = [
  ['promtool', 'prometheus'],
  ['chromium', 'chromium'],
];

const commands = { start, test, bench, install, build };
const command = commands[process.argv[2]];
if (!command) {
  log(`usage: node scripts/run.mjs ${Object.keys(commands).join('|')}`);
  process.exit(2);
}
command();
