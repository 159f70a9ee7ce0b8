import { RE2JS } from 're2js';

/**
 * Schema patterns (`pattern`, `patternProperties`, `propertyNames`) come from clients, and so do
 * the strings they are matched against. JavaScript's backtracking RegExp can take exponential
 * time on both together: `^(a+)+$` against 28 `a`s and a `!` took 1.2 s here, one character
 * more doubles it, and the event loop is stopped all that time. Patterns therefore run on RE2
 * (re2js, a pure JavaScript port, no native build), whose matching time is linear in the input.
 *
 * Linear is not small: RE2's time is the input's length times (at worst) the size of the
 * compiled pattern, 80–160 ns per program step per character here when its DFA gives up (e.g.
 * `(a|b)*a(a|b){20}c` against random a/b text with some `c`s: 5.6 µs a character and more). So
 * two bounds hold besides: one check may cost at most `CHECK_MAX_WORK` program steps ×
 * characters (270–550 ms measured at that worst rate), and the checks of one request stop after
 * `REQUEST_MAX_MS` (see `withPatternDeadline`): ~250 ms plus one check at worst. Past either,
 * validation fails with a `PatternCheckTooCostly`.
 *
 * Patterns must be valid ECMAScript (as JSON Schema says; `u` flag, as ajv compiles them), and
 * mean what they mean there: before RE2 sees a pattern, `.` and `\s`/`\S` are given their
 * ECMAScript sets and `\uHHHH\uHHHH` surrogate pairs become one code point. RE2 has no
 * lookaround, no backreferences, repeat counts up to 1000 and short Unicode property names
 * only (`\p{L}`, not `\p{Letter}`); a pattern needing more is refused when its schema is
 * registered, with the reason. Lookaround and backreferences are also outside the subset JSON
 * Schema recommends for interoperable schemas.
 */
export interface LinearPattern {
  /** Whether the pattern matches somewhere in `s` (as RegExp#test, not anchored). */
  test(s: string): boolean;
  /** ajv keys compiled patterns by this text: it must tell patterns apart. */
  toString(): string;
}

/** Most program steps × characters one check may cost (270–550 ms at RE2's worst rate here). */
export const CHECK_MAX_WORK = 10_000_000;
/** Longest the pattern checks of one request may take, in ms (checked between checks). */
export const REQUEST_MAX_MS = 250;

/** Thrown for a pattern RE2 cannot run or that is not valid ECMAScript; the message says why. */
export class UnsupportedPatternError extends Error {}

/** Thrown when a check would pass the bounds above; the message says which. */
export class PatternCheckTooCostly extends Error {}

/** ECMAScript's white space and line terminators (what `\s` matches there), as class members. */
const ECMA_SPACE = '\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}';
/** Everything else (what `\S` matches there), as class members: for `\S` inside a class. */
const ECMA_NON_SPACE =
  '\\x{0}-\\x{8}\\x{E}-\\x{1F}\\x{21}-\\x{9F}\\x{A1}-\\x{167F}\\x{1681}-\\x{1FFF}\\x{200B}-\\x{2027}\\x{202A}-\\x{202E}' +
  '\\x{2030}-\\x{205E}\\x{2060}-\\x{2FFF}\\x{3001}-\\x{FEFE}\\x{FF00}-\\x{10FFFF}';
/** What `.` matches in ECMAScript without the `s` flag: anything but a line terminator. */
const ECMA_DOT = '[^\\n\\r\\x{2028}\\x{2029}]';

let deadline = Number.POSITIVE_INFINITY;
/** The budget `deadline` came from, for the message. */
let budgetMs = REQUEST_MAX_MS;

/**
 * Run `fn` (one request's validation, synchronous) with its pattern checks bounded to `ms` in
 * total: a check that starts past the deadline throws `PatternCheckTooCostly`.
 */
export function withPatternDeadline<T>(ms: number, fn: () => T): T {
  const outer = deadline;
  const outerBudget = budgetMs;
  const next = performance.now() + ms;
  if (next < outer) {
    deadline = next;
    budgetMs = ms;
  }
  try {
    return fn();
  } finally {
    deadline = outer;
    budgetMs = outerBudget;
  }
}

export function compileLinearPattern(pattern: string): LinearPattern {
  const refuse = (reason: string): never => {
    throw new UnsupportedPatternError(
      `pattern ${JSON.stringify(pattern)} is not supported (${reason}): patterns run on RE2, in time linear in the input, ` +
        'which has no lookaround, no backreferences, repeat counts up to 1000 and short Unicode property names only',
    );
  };
  try {
    new RegExp(pattern, 'u');
  } catch (err) {
    throw new UnsupportedPatternError(
      `pattern ${JSON.stringify(pattern)} is not a valid ECMAScript regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`,
    );
  }
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(RE2JS.translateRegExp(withEcmaMeaning(pattern, refuse)));
  } catch (err) {
    if (err instanceof UnsupportedPatternError) throw err;
    return refuse((err as Error).message.replace(/^error parsing regexp: /, ''));
  }
  const size = Math.max(1, compiled.re2().prog.inst.length);
  const maxChars = Math.floor(CHECK_MAX_WORK / size);
  return {
    test(s: string): boolean {
      if (s.length > maxChars) {
        throw new PatternCheckTooCostly(
          `a string of ${s.length} characters is too long to check against the pattern ${JSON.stringify(pattern)} ` +
            `(at most ${maxChars} for this pattern)`,
        );
      }
      if (deadline !== Number.POSITIVE_INFINITY && performance.now() > deadline) {
        throw new PatternCheckTooCostly(`checking the schema's patterns took longer than ${budgetMs} ms for this request`);
      }
      return compiled.test(s);
    },
    toString: () => `/${pattern}/`,
  };
}

/**
 * The pattern with ECMAScript's meaning of `.`, `\s`, `\S` and surrogate-pair escapes spelled
 * out for RE2, and named backreferences refused (re2js would read `\k<n>` as text). Scans
 * escapes and character classes; everything else is copied.
 */
function withEcmaMeaning(pattern: string, refuse: (reason: string) => never): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const d = pattern[i + 1] ?? '';
      if (d === 's') out += inClass ? ECMA_SPACE : `[${ECMA_SPACE}]`;
      else if (d === 'S') out += inClass ? ECMA_NON_SPACE : `[^${ECMA_SPACE}]`;
      else if (d === 'k') refuse('a named backreference');
      // Backspace, which only a class can hold in ECMAScript (outside, `\b` is a word boundary).
      else if (d === 'b' && inClass) out += '\\x{08}';
      else if (d >= '1' && d <= '9') refuse('a backreference');
      else if (d === 'u' && /^[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}/.test(pattern.slice(i + 2, i + 13))) {
        const high = parseInt(pattern.slice(i + 2, i + 6), 16);
        const low = parseInt(pattern.slice(i + 8, i + 12), 16);
        out += `\\x{${(0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)).toString(16)}}`;
        i += 10;
      } else out += c + d;
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      // A `[` in a class is a plain character in ECMAScript; RE2 would read `[:name:]` as a POSIX class.
      out += c === '[' ? '\\[' : c;
    } else if (c === '[') {
      inClass = true;
      out += c;
      // A `]` right after `[` or `[^` closes the class in ECMAScript (`[]`, `[^]`).
      if (pattern[i + 1] === '^') out += pattern[++i];
    } else if (c === '.') {
      out += ECMA_DOT;
    } else if (c === '(' && pattern[i + 1] === '?') {
      const kind = pattern.slice(i + 2, i + 4);
      if (kind[0] === '=' || kind[0] === '!') refuse(`a lookahead \`(?${kind[0]}\``);
      if (kind === '<=' || kind === '<!') refuse(`a lookbehind \`(?${kind}\``);
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * The engine handed to ajv (`code.regExp`). ajv passes 'u' when it wants Unicode semantics; RE2
 * always matches by code point, so the flag changes nothing. `code` only matters to ajv's
 * standalone code generation, which this project does not use.
 */
export const linearRegExpEngine = Object.assign((pattern: string, _unicode: string): LinearPattern => compileLinearPattern(pattern), {
  code: 'compileLinearPattern',
});

/** Patterns `matchesPattern` compiled lately (a compatibility check tries one on many values). */
const recent = new Map<string, LinearPattern | undefined>();
const RECENT_MAX = 64;

/**
 * Whether `value` matches `pattern`; false for a pattern RE2 cannot run (it never compiled).
 * Throws `PatternCheckTooCostly` past the bounds.
 */
export function matchesPattern(pattern: string, value: string): boolean {
  let compiled = recent.get(pattern);
  if (compiled === undefined && !recent.has(pattern)) {
    try {
      compiled = compileLinearPattern(pattern);
    } catch (err) {
      if (!(err instanceof UnsupportedPatternError)) throw err;
    }
    if (recent.size >= RECENT_MAX) recent.clear();
    recent.set(pattern, compiled);
  }
  return compiled !== undefined && compiled.test(value);
}
