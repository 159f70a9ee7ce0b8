import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanupAll } from './processes';

/** Write a micro-benchmark's result as `packages/bench/results/<name>` (JSON) and say where. */
export function writeResult(name: string, result: unknown): void {
  const file = path.join(__dirname, '..', '..', 'results', name);
  fs.writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`written to ${file}`);
}

/** Run a micro-benchmark's main: an error sets the exit code; children and temp dirs are removed either way. */
export function runMicro(main: () => Promise<void>): void {
  main()
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(cleanupAll);
}
