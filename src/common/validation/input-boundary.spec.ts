import {
  controlCharIn,
  jsonNestsDeeperThan,
  problemsOfJson,
  problemsOfUrl,
  problemsOfValues,
} from './input-boundary';

const bytes = (s: string) => Buffer.from(s, 'utf8');

describe('controlCharIn', () => {
  it('names the first control character and where it is', () => {
    expect(controlCharIn('ab\u0000c')).toBe('U+0000 at position 2');
    expect(controlCharIn('a\u007f')).toBe('U+007F at position 1');
    expect(controlCharIn('line\nbreak')).toBe('U+000A at position 4');
    expect(controlCharIn('line\nbreak\ttab\r', true)).toBeNull();
    expect(controlCharIn('🥐 ñ')).toBeNull();
  });
});

describe('jsonNestsDeeperThan', () => {
  it('counts brackets outside strings only', () => {
    expect(jsonNestsDeeperThan(bytes('[[[1]]]'), 3)).toBe(false);
    expect(jsonNestsDeeperThan(bytes('[[[[1]]]]'), 3)).toBe(true);
    expect(jsonNestsDeeperThan(bytes('{"a":"[[[[[[\\"[[[["}'), 2)).toBe(false);
    expect(jsonNestsDeeperThan(bytes('{"a":{"b":{"c":{}}}}'), 3)).toBe(true);
    expect(jsonNestsDeeperThan(bytes('[[],[],[[]]]'), 3)).toBe(false);
  });

  it('scans 100 KB of brackets in milliseconds', () => {
    const body = bytes('['.repeat(100 * 1024));
    const started = performance.now();
    expect(jsonNestsDeeperThan(body, 32)).toBe(true);
    expect(jsonNestsDeeperThan(bytes(`[${'1,'.repeat(50_000)}1]`), 32)).toBe(false);
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe('problemsOfJson', () => {
  it('names prototype keys and control characters by their path', () => {
    const body = JSON.parse(
      '{"ok":"a\\nb","__proto__":{"x":1},"steps":[{"params":{"constructor":1,"v":"\\u0000"}}]}',
    );
    expect(problemsOfJson(body)).toEqual([
      { field: '__proto__', message: '"__proto__" is not an accepted key' },
      { field: 'steps[0].params.constructor', message: '"constructor" is not an accepted key' },
      {
        field: 'steps[0].params.v',
        message: 'must not contain control characters (U+0000 at position 0)',
      },
    ]);
  });

  it('accepts ordinary JSON', () => {
    expect(problemsOfJson({ a: [1, 'x', null, { b: true }], c: 'tab\there' })).toEqual([]);
  });
});

describe('problemsOfValues and problemsOfUrl', () => {
  it('refuses control characters in parameters and prototype query keys', () => {
    expect(problemsOfValues({ workflow_id: '\u0000' }, 'path')).toEqual([
      {
        field: 'workflow_id',
        message: 'must not contain control characters (U+0000 at position 0)',
      },
    ]);
    expect(problemsOfValues({ '__proto__[x]': '1', 'a.constructor': '2' }, 'query')).toHaveLength(
      2,
    );
    expect(problemsOfValues({ status: ['ok', 'bad\u0001'] }, 'query')).toHaveLength(1);
    expect(problemsOfValues({ workflow: 'daily_operations' }, 'query')).toEqual([]);
  });

  it('refuses malformed percent-encodings', () => {
    expect(problemsOfUrl('/workflows/%E0%A4%A')).toEqual([
      { field: 'path', message: 'contains a malformed percent-encoding' },
    ]);
    expect(problemsOfUrl('/x?workflow=%zz')).toEqual([
      { field: 'workflow', message: 'contains a malformed percent-encoding' },
    ]);
    expect(problemsOfUrl('/x/%F0%9F%A5%90?a=%20b&c')).toEqual([]);
  });
});
