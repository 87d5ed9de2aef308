/**
 * req.body's nested names, against multer's own builder: `append-field` (installed with multer)
 * fed the same fields must build the same objects, arrays (holes included) and prototypes.
 */
import fc from 'fast-check';
import { appendField, checkFieldName, createFormBody, type FormBody } from '../../lib/express/form-body';

const appendFieldOfMulter = require('append-field') as (store: object, key: string, value: string) => void;

/** A structure as JSON cannot show it: arrays with their holes, objects with whether they have a prototype. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return { array: Array.from({ length: value.length }, (_, i) => (i in value ? shape(value[i]) : '<hole>')) };
  if (typeof value === 'object' && value !== null) {
    return { prototype: Object.getPrototypeOf(value) === null ? 'none' : 'Object', entries: Object.entries(value).map(([key, item]) => [key, shape(item)]) };
  }
  return value;
}

function build(fields: ReadonlyArray<readonly [string, string]>, append: (store: FormBody, key: string, value: string) => void): unknown {
  const body = createFormBody();
  for (const [name, value] of fields) append(body, name, value);
  return shape(body);
}

describe('appendField', () => {
  it.each([
    ['plain names, a repeated one becoming an array', [['a', '1'], ['b', '2'], ['a', '3'], ['a', '4']]],
    ['objects and appends', [['user[name]', 'ada'], ['user[tags][]', 'x'], ['user[tags][]', 'y']]],
    ['array indexes, with a hole', [['list[0]', 'a'], ['list[2]', 'c']]],
    ['a key after an array: the array becomes an object by index', [['arr[0]', 'first'], ['arr[1]', 'second'], ['arr[key]', 'k']]],
    ['a value where an object is: it goes under the key ""', [['o[k]', 'v'], ['o', 'scalar']]],
    ['an object where a value is: the value moves under ""', [['s', 'scalar'], ['s[k]', 'v']]],
    ['names it cannot read, taken whole', [['[lead]', '1'], ['x[y]z', '2'], ['a[]b', '3'], ['a[', '4'], ['', '5']]],
    ['__proto__ and constructor, as plain keys', [['__proto__', 'p'], ['constructor[prototype]', 'c'], ['a[__proto__]', 'x']]],
    ['deep mixes of indexes and keys', [['d[a][0][b]', '1'], ['d[a][0][c]', '2'], ['d[a][1]', '3'], ['d[a][]', '4']]],
  ] as const)('should build what append-field builds: %s', (_name, fields) => {
    expect(build(fields, appendField)).toEqual(build(fields, appendFieldOfMulter));
  });

  it('should build what append-field builds for any sequence of bracket names', () => {
    const segment = fc.constantFrom('a', 'b', '0', '1', '3', '[', ']', '[]', '[a]', '[0]', '[1]', '[b]', '[2]', '__proto__');
    const name = fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => parts.join(''));
    const fields = fc.array(fc.tuple(name, fc.string({ maxLength: 3 })), { maxLength: 12 });
    fc.assert(
      fc.property(fields, (pairs) => {
        expect(build(pairs, appendField)).toEqual(build(pairs, appendFieldOfMulter));
      }),
      { numRuns: 2000 },
    );
  });

  it('should give req.body and the objects it makes no prototype', () => {
    const body = createFormBody();
    appendField(body, 'toString[a]', '1');
    appendField(body, 'hasOwnProperty', '2');
    expect(Object.getPrototypeOf(body)).toBeNull();
    expect(Object.getPrototypeOf(body['toString'])).toBeNull();
    expect(({} as { a?: unknown }).a).toBeUndefined();
  });
});

describe('checkFieldName', () => {
  it('should count nesting by its brackets, as multer does', () => {
    expect(checkFieldName('a[b][c]', 2, Infinity)).toBeUndefined();
    expect(checkFieldName('a[b][c]', 1, Infinity)).toBe('LIMIT_FIELD_NESTING');
  });

  it('should check indexes only in names read as a path', () => {
    expect(checkFieldName('a[7]', 32, 6)).toBe('LIMIT_FIELD_ARRAY_INDEX');
    expect(checkFieldName('a[6]', 32, 6)).toBeUndefined();
    // Taken whole by the builder, so no array is made: multer lets these through too.
    expect(checkFieldName('a[7]x', 32, 6)).toBeUndefined();
    expect(checkFieldName('[7]', 32, 6)).toBeUndefined();
  });
});
