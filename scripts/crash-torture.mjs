#!/usr/bin/env node
// Crash torture of the core: runs the real service (services/core/dist/main.js) under concurrent
// single and batch ingest, SIGKILLs it at random moments (also during segment flushes, WAL
// rotations, snapshots, compactions and recovery), restarts it and checks that every
// acknowledged event is there exactly once and unaltered. See docs/reliability.md.
//
//   node scripts/crash-torture.mjs [--cycles N] [--seed S] [--cycles-per-dir N]
//                                  [--min-run-ms MS] [--max-run-ms MS] [--keep] [--json FILE]
//
// Build first (npx tsc -b tsconfig.build.json). Exits 1 on any loss, duplicate, corruption or
// other inconsistency, 2 on a usage error.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const modulePath = join(root, 'services', 'core', 'dist', 'testing', 'crashTorture.js');

function usage(message) {
  if (message) process.stderr.write(`${message}\n`);
  process.stderr.write(
    'usage: node scripts/crash-torture.mjs [--cycles N (20)] [--seed S] [--cycles-per-dir N (25)] ' +
      '[--min-run-ms MS (100)] [--max-run-ms MS (1500)] [--keep] [--json FILE]\n',
  );
  process.exit(2);
}

const opts = { cycles: 20 };
let keep = false;
let jsonFile;
const argv = process.argv.slice(2);
const int = (name, value) => {
  if (!/^\d+$/.test(value ?? '')) usage(`${name} needs a non-negative integer, got '${value ?? ''}'`);
  return Number(value);
};
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
  const value = () => inline ?? argv[++i];
  switch (flag) {
    case '--cycles': opts.cycles = int(flag, value()); break;
    case '--seed': opts.seed = int(flag, value()); break;
    case '--cycles-per-dir': opts.cyclesPerDataDir = int(flag, value()); break;
    case '--min-run-ms': opts.minRunMs = int(flag, value()); break;
    case '--max-run-ms': opts.maxRunMs = int(flag, value()); break;
    case '--keep': keep = true; break;
    case '--json': jsonFile = value(); break;
    case '--help': case '-h': usage(); break;
    default: usage(`unknown argument '${arg}'`);
  }
}
if (opts.cycles < 1) usage('--cycles must be at least 1');

const require = createRequire(import.meta.url);
let torture;
try {
  torture = require(modulePath);
} catch (err) {
  process.stderr.write(`cannot load ${modulePath} (${err.message}): build first with npx tsc -b tsconfig.build.json\n`);
  process.exit(2);
}

const workDir = mkdtempSync(join(tmpdir(), 'allsource-crash-torture-'));
const stamp = () => new Date().toISOString().slice(11, 19);
let interrupted = false;
const onSignal = (signal) => {
  if (interrupted) return;
  interrupted = true;
  process.stderr.write(`\n${signal}: stopping (the running service is killed)\n`);
  // The child cores are killed by the module's finally blocks via killSpawnedCores below.
  Promise.resolve(require(join(root, 'services', 'core', 'dist', 'testing', 'childCore.js')).killSpawnedCores())
    .finally(() => {
      if (!keep) rmSync(workDir, { recursive: true, force: true });
      process.exit(130);
    });
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

let summary;
try {
  summary = await torture.runCrashTorture({ ...opts, workDir, log: (line) => process.stdout.write(`[${stamp()}] ${line}\n`) });
} catch (err) {
  process.stderr.write(`crash torture aborted: ${err?.stack ?? err}\n`);
  process.stderr.write(`data kept in ${workDir}\n`);
  process.exit(1);
}
process.stdout.write(`\n${torture.formatTortureSummary(summary)}\n`);
if (jsonFile) writeFileSync(jsonFile, `${JSON.stringify(summary, null, 2)}\n`);
if (keep || !summary.ok) process.stdout.write(`data directories: ${workDir}\n`);
else rmSync(workDir, { recursive: true, force: true });
process.exit(summary.ok ? 0 : 1);
