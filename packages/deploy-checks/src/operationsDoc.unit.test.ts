/**
 * docs/operations.md: every relative link (to a file of the repository, and to a heading of the
 * target or of itself) resolves, and every alert of alerts.yml has its runbook section.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { headingAnchors } from './markdown';
import { ALERTS_FILE, OPERATIONS_DOC } from './paths';
import { readYaml } from './yaml';

const doc = readFileSync(OPERATIONS_DOC, 'utf8');

it('every relative link resolves to a file and heading', () => {
  const broken: string[] = [];
  const withoutCode = doc.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  for (const m of withoutCode.matchAll(/\]\(([^)\s]+)\)/g)) {
    const link = m[1]!;
    if (/^[a-z]+:/.test(link)) continue;
    const [file, anchor] = link.split('#') as [string, string | undefined];
    const target = file === '' ? OPERATIONS_DOC : path.resolve(path.dirname(OPERATIONS_DOC), file);
    if (!existsSync(target)) {
      broken.push(`${link}: no file ${target}`);
      continue;
    }
    if (anchor !== undefined && !headingAnchors(readFileSync(target, 'utf8')).has(anchor)) broken.push(`${link}: no heading #${anchor}`);
  }
  expect(broken).toEqual([]);
});

it('has one runbook section per alert, saying what it means, how to confirm it and what to do', () => {
  const alerts = readYaml<{ groups: Array<{ rules: Array<{ alert?: string }> }> }>(ALERTS_FILE)
    .groups.flatMap((g) => g.rules)
    .flatMap((r) => (r.alert ? [r.alert] : []));
  const sections = doc.split(/^### /m).slice(1);
  for (const alert of alerts) {
    const section = sections.find((s) => s.startsWith(`${alert}\n`));
    expect([alert, section !== undefined]).toEqual([alert, true]);
    for (const part of ['**Means.**', '**Confirm.**', '**Do']) expect([alert, section!.includes(part)]).toEqual([alert, true]);
  }
});
