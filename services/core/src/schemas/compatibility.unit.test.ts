import { compatibilityProblems, subsetProblems, type CompatibilityMode } from './compatibility';
import { draftOf } from './jsonSchema';

const side = (schema: unknown) => ({ schema, draft: draftOf(schema) });
const problems = (prev: unknown, next: unknown, mode: CompatibilityMode = 'BACKWARD') =>
  compatibilityProblems(side(prev), side(next), mode);
/** narrow ⊆ wide? */
const within = (narrow: unknown, wide: unknown) => subsetProblems(side(narrow), side(wide), 'narrow', 'wide');

const user = {
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer' } },
  required: ['name'],
};

describe('compatibility modes', () => {
  it('NONE checks nothing', () => {
    expect(problems({ type: 'string' }, { type: 'number' }, 'NONE')).toEqual([]);
  });

  it('BACKWARD: adding an optional property is fine, adding a required one is not', () => {
    const optional = { ...user, properties: { ...user.properties, email: { type: 'string' } } };
    expect(problems(user, optional)).toEqual([]);
    const required = { ...optional, required: ['name', 'email'] };
    const found = problems(optional, required);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^BACKWARD: \$\.email: required by the new schema but not by the previous schema/);
  });

  it('FORWARD: removing a required property breaks old readers, adding one does not', () => {
    const fewer = { ...user, required: [] };
    expect(problems(user, fewer, 'FORWARD')[0]).toMatch(/^FORWARD: \$\.name: required by the previous schema/);
    expect(problems(fewer, user, 'FORWARD')).toEqual([]);
    // …and BACKWARD is the other way round.
    expect(problems(user, fewer, 'BACKWARD')).toEqual([]);
    expect(problems(fewer, user, 'BACKWARD')).toHaveLength(1);
  });

  it('FULL reports both directions', () => {
    const changed = { ...user, properties: { ...user.properties, age: { type: 'string' } } };
    const found = problems(user, changed, 'FULL');
    expect(found.some((p) => p.startsWith('BACKWARD: $.age:'))).toBe(true);
    expect(found.some((p) => p.startsWith('FORWARD: $.age:'))).toBe(true);
  });
});

describe('types', () => {
  it('a changed type is incompatible both ways', () => {
    expect(within({ type: 'string' }, { type: 'number' })[0]).toMatch(/allows type string, the wide schema only number/);
    expect(within({ type: 'number' }, { type: 'string' })).toHaveLength(1);
  });

  it('integer is a number, not the other way round', () => {
    expect(within({ type: 'integer' }, { type: 'number' })).toEqual([]);
    expect(within({ type: 'number' }, { type: 'integer' })).toHaveLength(1);
  });

  it('widening a type union is backward compatible; a type added where there was none is not', () => {
    expect(within({ type: 'string' }, { type: ['string', 'null'] })).toEqual([]);
    expect(within({ type: ['string', 'null'] }, { type: 'string' })[0]).toMatch(/type null/);
    expect(within({}, { type: 'string' })[0]).toMatch(/allows only type string, the narrow schema any type/);
  });

  it('boolean schemas', () => {
    expect(within(true, false)).toHaveLength(1);
    expect(within(false, { type: 'string' })).toEqual([]);
    expect(within({ type: 'string' }, true)).toEqual([]);
  });
});

describe('enums and consts', () => {
  it('widening an enum is fine, narrowing it is not', () => {
    expect(within({ enum: ['a', 'b'] }, { enum: ['a', 'b', 'c'] })).toEqual([]);
    const found = within({ enum: ['a', 'b', 'c'] }, { enum: ['a', 'b'] });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/"c"/);
  });

  it('an enum added where any string was allowed is narrowing', () => {
    expect(within({ type: 'string' }, { type: 'string', enum: ['a'] })[0]).toMatch(/allows only the values "a"/);
  });

  it('enum values are checked against the wide side (type, bounds, length, pattern)', () => {
    expect(within({ const: 5 }, { type: 'integer', minimum: 1 })).toEqual([]);
    expect(within({ enum: [0, 5] }, { type: 'integer', minimum: 1 })).toHaveLength(1);
    expect(within({ enum: ['ab'] }, { type: 'string', pattern: '^a' })).toEqual([]);
    expect(within({ enum: ['ba'] }, { type: 'string', pattern: '^a' })).toHaveLength(1);
    expect(within({ enum: ['x@y.io'] }, { type: 'string', format: 'email' })).toEqual([]);
    expect(within({ enum: ['nope'] }, { type: 'string', format: 'email' })).toHaveLength(1);
  });
});

describe('numbers and strings', () => {
  it('bounds may widen but not narrow', () => {
    expect(within({ type: 'number', minimum: 5 }, { type: 'number', minimum: 0 })).toEqual([]);
    expect(within({ type: 'number', minimum: 0 }, { type: 'number', minimum: 5 })[0]).toMatch(/requires >= 5, the narrow schema only >= 0/);
    expect(within({ type: 'number' }, { type: 'number', maximum: 10 })[0]).toMatch(/has no upper bound/);
    expect(within({ type: 'number', maximum: 10 }, { type: 'number', exclusiveMaximum: 10 })).toHaveLength(1);
    expect(within({ type: 'number', exclusiveMaximum: 10 }, { type: 'number', maximum: 10 })).toEqual([]);
    expect(within({ type: 'integer', multipleOf: 4 }, { type: 'integer', multipleOf: 2 })).toEqual([]);
    expect(within({ type: 'integer', multipleOf: 2 }, { type: 'integer', multipleOf: 4 })).toHaveLength(1);
  });

  it('lengths, patterns and formats', () => {
    expect(within({ type: 'string', maxLength: 5 }, { type: 'string', maxLength: 10 })).toEqual([]);
    expect(within({ type: 'string', maxLength: 10 }, { type: 'string', maxLength: 5 })).toHaveLength(1);
    expect(within({ type: 'string', minLength: 1 }, { type: 'string', minLength: 2 })).toHaveLength(1);
    expect(within({ type: 'string' }, { type: 'string', pattern: '^a' })[0]).toMatch(/pattern "\^a"/);
    expect(within({ type: 'string', pattern: '^a' }, { type: 'string' })).toEqual([]);
    expect(within({ type: 'string' }, { type: 'string', format: 'email' })[0]).toMatch(/format 'email'/);
    // An unchecked format is an annotation.
    expect(within({ type: 'string' }, { type: 'string', format: 'x-custom' })).toEqual([]);
  });

  it('string keywords do not matter when the value cannot be a string', () => {
    expect(within({ type: 'integer' }, { type: ['integer', 'string'], pattern: '^a' })).toEqual([]);
  });
});

describe('objects', () => {
  it('removing a property is fine on an open object, not when additionalProperties is false', () => {
    const closedSmall = { type: 'object', properties: { name: { type: 'string' } }, additionalProperties: false };
    const openSmall = { type: 'object', properties: { name: { type: 'string' } } };
    expect(within(user, openSmall)).toEqual([]);
    const found = within(user, closedSmall);
    expect(found.some((p) => /^\$\.age: allowed by the narrow schema but not by the wide schema \(additionalProperties: false\)/.test(p))).toBe(true);
  });

  it('closing an open object is narrowing; opening a closed one is widening', () => {
    const closed = { ...user, additionalProperties: false };
    expect(within(user, closed)[0]).toMatch(/allows no undeclared properties/);
    expect(within(closed, user)).toEqual([]);
  });

  it('a typed additionalProperties is compared with the other side', () => {
    const strings = { type: 'object', additionalProperties: { type: 'string' } };
    const numbers = { type: 'object', additionalProperties: { type: 'number' } };
    expect(within(strings, numbers)[0]).toMatch(/^\$\.\*: /);
    expect(within(strings, { type: 'object', additionalProperties: { type: ['string', 'number'] } })).toEqual([]);
  });

  it('nested objects are compared property by property, with paths', () => {
    const v1 = {
      type: 'object',
      properties: { address: { type: 'object', properties: { zip: { type: 'string' } }, required: ['zip'] } },
    };
    const v2 = {
      type: 'object',
      properties: { address: { type: 'object', properties: { zip: { type: 'integer' } }, required: ['zip', 'city'] } },
    };
    const found = within(v1, v2);
    expect(found).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\$\.address\.city: required/), expect.stringMatching(/^\$\.address\.zip: .*type string/)]),
    );
  });

  it('patternProperties and min/max properties', () => {
    const p1 = { type: 'object', patternProperties: { '^x_': { type: 'string' } }, additionalProperties: false };
    const p2 = { type: 'object', patternProperties: { '^x_': { type: 'number' } }, additionalProperties: false };
    expect(within(p1, p2)).toHaveLength(1);
    expect(within(p1, p1)).toEqual([]);
    expect(within({ type: 'object' }, { type: 'object', maxProperties: 3 })).toHaveLength(1);
  });
});

describe('arrays', () => {
  it('item schemas are compared (2020-12 items/prefixItems)', () => {
    expect(within({ type: 'array', items: { type: 'integer' } }, { type: 'array', items: { type: 'number' } })).toEqual([]);
    expect(within({ type: 'array', items: { type: 'number' } }, { type: 'array', items: { type: 'integer' } })[0]).toMatch(/^\$\[\]: /);
    const tuple = { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }], items: false };
    expect(within(tuple, { type: 'array', prefixItems: [{ type: 'string' }], items: { type: 'number' } })).toEqual([]);
    expect(within(tuple, { type: 'array', prefixItems: [{ type: 'integer' }] })[0]).toMatch(/^\$\[0\]: /);
  });

  it('draft-07 tuple items and additionalItems', () => {
    const d7 = 'http://json-schema.org/draft-07/schema#';
    const a = { $schema: d7, type: 'array', items: [{ type: 'string' }], additionalItems: false };
    const b = { $schema: d7, type: 'array', items: [{ type: 'string' }], additionalItems: { type: 'integer' } };
    expect(within(a, b)).toEqual([]);
    expect(within(b, a)[0]).toMatch(/^\$\[\]: the wide schema accepts no value here/);
  });

  it('item counts and uniqueness', () => {
    expect(within({ type: 'array', minItems: 2 }, { type: 'array', minItems: 1 })).toEqual([]);
    expect(within({ type: 'array' }, { type: 'array', minItems: 1 })).toHaveLength(1);
    expect(within({ type: 'array' }, { type: 'array', uniqueItems: true })).toHaveLength(1);
  });
});

describe('references and compositions', () => {
  it('local $refs are followed on both sides, recursion included', () => {
    const tree = (leaf: string) => ({
      $defs: { node: { type: 'object', properties: { value: { type: leaf }, children: { type: 'array', items: { $ref: '#/$defs/node' } } } } },
      $ref: '#/$defs/node',
    });
    expect(within(tree('integer'), tree('number'))).toEqual([]);
    expect(within(tree('number'), tree('integer')).length).toBeGreaterThan(0);
    // A draft-07 `definitions` ref against an inline equivalent.
    const d7 = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      definitions: { id: { type: 'string' } },
      type: 'object',
      properties: { id: { $ref: '#/definitions/id' } },
    };
    expect(within(d7, { type: 'object', properties: { id: { type: 'string' } } })).toEqual([]);
    expect(within({ type: 'object', properties: { id: { type: 'string', maxLength: 3 } } }, d7)).toEqual([]);
    expect(within({ type: 'object', properties: { id: { type: 'integer' } } }, d7)).toHaveLength(1);
  });

  it('remote $refs cannot be verified unless unchanged', () => {
    expect(within({ type: 'object' }, { $ref: 'https://example.com/x.json' })[0]).toMatch(/cannot verify/);
  });

  it('anyOf / oneOf: a union is covered when each branch is', () => {
    const nullableString = { anyOf: [{ type: 'string' }, { type: 'null' }] };
    expect(within({ type: 'string' }, nullableString)).toEqual([]);
    expect(within(nullableString, { type: ['string', 'null'] })).toEqual([]);
    expect(within(nullableString, { type: 'string' })).toHaveLength(1);
    expect(within({ type: 'integer' }, { oneOf: [{ type: 'string' }, { type: 'boolean' }] })[0]).toMatch(/not covered by any branch/);
  });

  it('allOf on the wide side must hold branch by branch', () => {
    const wide = { allOf: [{ type: 'object' }, { required: ['id'] }] };
    expect(within({ type: 'object', required: ['id', 'x'] }, wide)).toEqual([]);
    expect(within({ type: 'object' }, wide)).toHaveLength(1);
  });

  it('keywords it cannot decide are reported when added or changed on the wide side, not silently passed', () => {
    expect(within({ type: 'string' }, { type: 'string', not: { const: 'x' } })[0]).toMatch(/cannot verify 'not'/);
    const same = { type: 'string', not: { const: 'x' } };
    expect(within(same, { ...same })).toEqual([]);
    // On the narrow side such a keyword only narrows: fine.
    expect(within({ type: 'string', not: { const: 'x' } }, { type: 'string' })).toEqual([]);
    expect(within({ type: 'object' }, { type: 'object', if: { required: ['a'] }, then: { required: ['b'] } })[0]).toMatch(/if/);
  });

  it('unchanged schemas are always compatible, whatever they use', () => {
    const s = { type: 'object', properties: { a: { not: { type: 'null' } }, b: { contains: { const: 1 } } }, unevaluatedProperties: false };
    expect(problems(s, JSON.parse(JSON.stringify(s)), 'FULL')).toEqual([]);
  });
});
