import { readFileSync } from 'node:fs';
import { safeDump, safeLoad } from 'js-yaml';

/** Parses a YAML file (js-yaml's safe schema: plain data only). */
export function readYaml<T = unknown>(file: string): T {
  return safeLoad(readFileSync(file, 'utf8'), { filename: file }) as T;
}

export function toYaml(value: unknown): string {
  return safeDump(value, { lineWidth: 200, noRefs: true });
}
