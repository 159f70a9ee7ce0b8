import { SchemaCompileError, SchemaCompiler, draftOf, matchesFormat, violationText, violations } from './jsonSchema';

describe('draftOf', () => {
  it('defaults to 2020-12 and recognises both drafts in their usual spellings', () => {
    expect(draftOf({ type: 'string' })).toBe('2020-12');
    expect(draftOf(true)).toBe('2020-12');
    expect(draftOf({ $schema: 'https://json-schema.org/draft/2020-12/schema' })).toBe('2020-12');
    expect(draftOf({ $schema: 'https://json-schema.org/draft/2020-12/schema#' })).toBe('2020-12');
    expect(draftOf({ $schema: 'http://json-schema.org/draft-07/schema#' })).toBe('draft-07');
    expect(draftOf({ $schema: 'https://json-schema.org/draft-07/schema' })).toBe('draft-07');
  });

  it('refuses other drafts, naming the supported ones', () => {
    expect(() => draftOf({ $schema: 'http://json-schema.org/draft-04/schema#' })).toThrow(/draft-04.*2020-12.*draft-07/);
    expect(() => draftOf({ $schema: 42 })).toThrow(SchemaCompileError);
  });
});

describe('SchemaCompiler', () => {
  const compiler = new SchemaCompiler();

  it('validates with every error reported (allErrors)', () => {
    const { validate, draft } = compiler.compile({
      type: 'object',
      properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
      required: ['name', 'email'],
    });
    expect(draft).toBe('2020-12');
    expect(validate({ name: 'a', email: 'x', age: 3 })).toBe(true);
    expect(validate({ name: 1, age: -1 })).toBe(false);
    const texts = violations(validate.errors, 100).map(violationText);
    expect(texts).toEqual(
      expect.arrayContaining(["(root) must have required property 'email'", '/name must be string', '/age must be >= 0']),
    );
  });

  it('honours draft-07 semantics (tuple items) and 2020-12 semantics (prefixItems)', () => {
    const d7 = compiler.compile({ $schema: 'http://json-schema.org/draft-07/schema#', items: [{ type: 'string' }], additionalItems: false });
    expect(d7.draft).toBe('draft-07');
    expect(d7.validate(['a'])).toBe(true);
    expect(d7.validate(['a', 'b'])).toBe(false);
    const d2020 = compiler.compile({ prefixItems: [{ type: 'string' }], items: false });
    expect(d2020.validate(['a'])).toBe(true);
    expect(d2020.validate(['a', 'b'])).toBe(false);
    // The https spelling of the draft-07 URI is accepted too.
    expect(compiler.compile({ $schema: 'https://json-schema.org/draft-07/schema', type: 'string' }).validate(1)).toBe(false);
  });

  it('accepts real-world schemas loosely (unknown keywords and formats)', () => {
    const { validate } = compiler.compile({ type: 'string', format: 'x-unknown', 'x-owner': 'team-a', example: 'hi' });
    expect(validate('anything')).toBe(true);
  });

  it('checks the common formats', () => {
    const { validate } = compiler.compile({
      type: 'object',
      properties: { at: { format: 'date-time' }, mail: { format: 'email' }, id: { format: 'uuid' }, ip: { format: 'ipv4' } },
    });
    expect(validate({ at: '2026-01-02T03:04:05.123Z', mail: 'a@b.io', id: '7b0e6a4e-0c3f-4b8e-9a55-9f1f4f0b8e11', ip: '10.0.0.1' })).toBe(true);
    expect(validate({ at: '2026-02-30T03:04:05Z' })).toBe(false);
    expect(validate({ mail: 'not an email' })).toBe(false);
    expect(validate({ id: 'nope' })).toBe(false);
    expect(validate({ ip: '300.1.1.1' })).toBe(false);
    expect(matchesFormat('date', '2024-02-29')).toBe(true);
    expect(matchesFormat('date', '2023-02-29')).toBe(false);
    expect(matchesFormat('time', '23:59:60+01:00')).toBe(true);
    expect(matchesFormat('uri', 'https://example.com/x')).toBe(true);
    expect(matchesFormat('uri', 'example')).toBe(false);
    expect(matchesFormat('x-unknown', 'whatever')).toBe(true);
  });

  it.each([
    ['a wrong type keyword', { type: 'strnig' }],
    ['required not an array', { type: 'object', required: 'a' }],
    ['an invalid pattern', { type: 'string', pattern: '(' }],
    ['an unresolvable $ref', { $ref: '#/$defs/missing' }],
    ['a remote $ref', { $ref: 'https://example.com/schema.json' }],
    ['an array', [{ type: 'string' }]],
    ['a string', 'object'],
    ['an async schema', { $async: true, type: 'string' }],
    ['an unsupported draft', { $schema: 'http://json-schema.org/draft-04/schema#' }],
  ])('refuses %s', (_name, schema) => {
    expect(() => compiler.compile(schema)).toThrow(SchemaCompileError);
  });

  it('compiles every schema in isolation: a reused $id neither clashes nor leaks', () => {
    const v1 = compiler.compile({ $id: 'https://example.com/user', type: 'object', properties: { a: { type: 'string' } } });
    const v2 = compiler.compile({ $id: 'https://example.com/user', type: 'object', properties: { a: { type: 'number' } } });
    expect(v1.validate({ a: 'x' })).toBe(true);
    expect(v2.validate({ a: 'x' })).toBe(false);
    // Another schema cannot reach the first one through its $id.
    expect(() => compiler.compile({ $ref: 'https://example.com/user' })).toThrow(SchemaCompileError);
  });

  it('matches patterns as ECMA-262 does for the common syntax, anywhere in the string unless anchored', () => {
    const { validate } = compiler.compile({
      type: 'object',
      properties: {
        code: { type: 'string', pattern: '^[A-Z]{3}-\\d{2,4}$' },
        word: { type: 'string', pattern: '^\\p{L}+$' },
        part: { type: 'string', pattern: 'b+' },
        date: { type: 'string', pattern: '^(?<year>\\d{4})-(?:0[1-9]|1[0-2])$' },
      },
      patternProperties: { '^x_': { type: 'number' } },
      propertyNames: { pattern: '^(?:code|word|part|date|x_.*)$' },
    });
    expect(validate({ code: 'ABC-123', word: 'Ünïcödé', part: 'abbbc', date: '2026-11', x_n: 1 })).toBe(true);
    expect(validate({ code: 'abc-123' })).toBe(false);
    expect(validate({ code: 'ABC-12345' })).toBe(false);
    expect(validate({ word: 'two words' })).toBe(false);
    expect(validate({ part: 'acd' })).toBe(false);
    expect(validate({ date: '2026-13' })).toBe(false);
    expect(validate({ x_n: 'not a number' })).toBe(false);
    expect(validate({ other: 1 })).toBe(false);
  });

  it('runs patterns in linear time: a backtracking bomb against a long string is just a mismatch', () => {
    // With JavaScript's RegExp each of these mismatches takes about a second (twice as long with
    // each character more); the inputs are kept at that size so that a return to RegExp shows as
    // a slow test, not a hung one (the refusals below catch it too: RegExp accepts lookaround).
    const { validate } = compiler.compile({ type: 'string', pattern: '^(a+)+$' });
    expect(validate('a'.repeat(28) + '!')).toBe(false);
    expect(validate('a'.repeat(100_000))).toBe(true);
    const names = compiler.compile({ type: 'object', propertyNames: { pattern: '^(x|x)*$' } });
    expect(names.validate({ ['x'.repeat(26) + 'y']: 1 })).toBe(false);
    expect(names.validate({ ['x'.repeat(100_000)]: 1 })).toBe(true);
  });

  it('gives `.`, `\\s`, `\\S`, `[\\b]` and surrogate-pair escapes their ECMAScript meaning, not RE2\'s', () => {
    const cases: Array<[string, string, boolean]> = [
      ['^.+$', 'a\rb', false],
      ['^.+$', 'a\u2028b', false],
      ['^.+$', 'a\u00e9b', true],
      ['^\\S+@\\S+$', 'a\u00a0@b', false],
      ['^\\s+$', '\u00a0\u3000\ufeff\v', true],
      ['^[^\\s]+$', 'a\u2003b', false],
      ['^[\\s\\S]*$', 'any\nthing', true],
      ['^[\\b]$', '\b', true],
      ['^\\uD83D\\uDE00$', '\u{1F600}', true],
      ['^[.]$', 'x', false],
      ['^[^\\S\\r\\n]+$', ' \t\u00a0\u3000\v', true],
      ['^[^\\S\\r\\n]+$', ' \n', false],
      ['^[\\d\\S]$', '\u00a0', false],
      ['^[[:alpha:][]$', 'a', false],
      ['^[[:a]x$', '[x', true],
    ];
    for (const [pattern, value, expected] of cases) {
      const { validate } = compiler.compile({ type: 'string', pattern });
      // The reference: JavaScript's own RegExp with the u flag, as JSON Schema specifies.
      expect({ pattern, value, matches: new RegExp(pattern, 'u').test(value) }).toEqual({ pattern, value, matches: expected });
      expect({ pattern, value, matches: validate(value) }).toEqual({ pattern, value, matches: expected });
    }
  });

  it.each([
    ['Perl inline flags', '(?i)abc'],
    ['a \\Q quote', '\\Qa.b\\E'],
    ['an open-ended {,n}', '^a{,3}$'],
    ['a POSIX class', '[[:alpha:]]'],
    ['a \\x{…} escape', '^\\x{41}$'],
  ])('refuses %s, which is not ECMAScript (RE2 alone would accept it)', (_name, pattern) => {
    expect(() => compiler.compile({ type: 'string', pattern })).toThrow(/is not a valid ECMAScript regular expression/);
  });

  it.each([
    ['a lookahead', '^(?=.*[A-Z]).{8,}$', /\(\?=/],
    ['a named backreference', '^(?<y>a)\\k<y>$', /named backreference/],
    ['a negative lookahead', '^(?!admin).*$', /\(\?!/],
    ['a backreference', '^(a)\\1$', /\\1/],
    ['a lookbehind', '(?<=x)y', /\(\?<=/],
  ])('refuses %s, naming the pattern and why', (_name, pattern, reason) => {
    let message = '';
    try {
      compiler.compile({ type: 'object', properties: { p: { type: 'string', pattern } } });
    } catch (err) {
      expect(err).toBeInstanceOf(SchemaCompileError);
      message = (err as Error).message;
    }
    expect(message).toContain(JSON.stringify(pattern));
    expect(message).toMatch(reason);
    expect(message).toMatch(/linear/);
  });

  it('compiles boolean schemas', () => {
    expect(compiler.compile(true).validate({ anything: 1 })).toBe(true);
    expect(compiler.compile(false).validate(1)).toBe(false);
  });
});
