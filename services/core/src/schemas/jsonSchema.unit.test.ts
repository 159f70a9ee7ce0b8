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

  it('compiles boolean schemas', () => {
    expect(compiler.compile(true).validate({ anything: 1 })).toBe(true);
    expect(compiler.compile(false).validate(1)).toBe(false);
  });
});
