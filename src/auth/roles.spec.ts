import { defaultRoleFor, grants } from './roles';

describe('grants', () => {
  it.each([
    [['viewer'], 'viewer', true],
    [['viewer'], 'operator', false],
    [['operator'], 'viewer', true],
    [['operator'], 'admin', false],
    [['admin'], 'operator', true],
    [[], 'viewer', false],
  ] as const)('%j for %s → %s', (held, required, expected) => {
    expect(grants(held, required)).toBe(expected);
  });
});

describe('defaultRoleFor', () => {
  it.each([
    ['GET', 'viewer'],
    ['HEAD', 'viewer'],
    ['POST', 'admin'],
    ['PUT', 'admin'],
    ['DELETE', 'admin'],
    ['PATCH', 'admin'],
  ])('%s needs %s', (method, role) => {
    expect(defaultRoleFor(method)).toBe(role);
  });
});
