import { RE2JS } from 're2js';

/**
 * Schema patterns (`pattern`, `patternProperties`, `propertyNames`) come from clients, and so do
 * the strings they are matched against. JavaScript's backtracking RegExp can take exponential
 * time on both together: `^(a+)+$` against 28 `a`s and a `!` took 1.2 s here, one character
 * more doubles it, and the event loop is stopped all that time. Patterns therefore run on RE2
 * (re2js, a pure JavaScript port, no native build), whose matching time is linear in the input.
 * RE2 has no lookaround and no backreferences; a pattern using them is refused when its schema is
 * registered, with the reason. Those are also outside the regular-expression subset JSON Schema
 * recommends for interoperable schemas.
 */
export interface LinearPattern {
  /** Whether the pattern matches somewhere in `s` (as RegExp#test, not anchored). */
  test(s: string): boolean;
  /** ajv keys compiled patterns by this text: it must tell patterns apart. */
  toString(): string;
}

/** Thrown for a pattern RE2 cannot run; the message says which and why. */
export class UnsupportedPatternError extends Error {}

export function compileLinearPattern(pattern: string): LinearPattern {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(RE2JS.translateRegExp(pattern));
  } catch (err) {
    const reason = (err as Error).message.replace(/^error parsing regexp: /, '');
    throw new UnsupportedPatternError(
      `pattern ${JSON.stringify(pattern)} is not supported (${reason}): patterns run on RE2, in time linear in the input, ` +
        'which has no lookaround and no backreferences',
    );
  }
  return { test: (s) => compiled.test(s), toString: () => `/${pattern}/` };
}

/**
 * The engine handed to ajv (`code.regExp`). ajv passes 'u' when it wants Unicode semantics; RE2
 * always matches by code point, so the flag changes nothing. `code` only matters to ajv's
 * standalone code generation, which this project does not use.
 */
export const linearRegExpEngine = Object.assign((pattern: string, _unicode: string): LinearPattern => compileLinearPattern(pattern), {
  code: 'compileLinearPattern',
});

/** Whether `value` matches `pattern`; false for a pattern RE2 cannot run (it never compiled). */
export function matchesPattern(pattern: string, value: string): boolean {
  try {
    return compileLinearPattern(pattern).test(value);
  } catch (err) {
    if (err instanceof UnsupportedPatternError) return false;
    throw err;
  }
}
