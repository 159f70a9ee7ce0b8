/** `--name=value` and `--flag` command-line options (a value keeps any `=` it holds). */
export function parseArgs(argv: readonly string[] = process.argv.slice(2)): Map<string, string> {
  return new Map(
    argv.map((a): [string, string] => {
      const s = a.replace(/^--/, '');
      const eq = s.indexOf('=');
      return eq < 0 ? [s, ''] : [s.slice(0, eq), s.slice(eq + 1)];
    }),
  );
}
