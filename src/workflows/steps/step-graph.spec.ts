import { StepDefinition } from '../workflow.entity';
import { stepLevels, validateSteps } from './step-graph';

const step = (
  name: string,
  depends_on: string[] = [],
  operation = 'forecasting.generate',
): StepDefinition => ({
  name,
  operation,
  depends_on,
});

describe(validateSteps.name, () => {
  it('accepts a DAG of known operations', () => {
    expect(
      validateSteps([step('a'), step('b', ['a']), step('c', ['a']), step('d', ['b', 'c'])]),
    ).toEqual([]);
  });

  it('names an unknown operation with its index', () => {
    expect(validateSteps([step('a'), step('b', [], 'forecasting.explode')])).toEqual([
      {
        field: 'steps[1].operation',
        message: expect.stringContaining('unknown operation "forecasting.explode"'),
      },
    ]);
  });

  it('names duplicate steps and unknown dependencies', () => {
    const problems = validateSteps([step('a'), step('a'), step('b', ['zzz'])]);
    expect(problems.map((p) => p.field)).toEqual(['steps[1].name', 'steps[2].depends_on[0]']);
  });

  it('reports a cycle with its path', () => {
    expect(validateSteps([step('a', ['c']), step('b', ['a']), step('c', ['b'])])).toEqual([
      { field: 'steps', message: 'dependency cycle: a -> c -> b -> a' },
    ]);
  });

  it('refuses an empty list and malformed names', () => {
    expect(validateSteps([])).toEqual([{ field: 'steps', message: expect.any(String) }]);
    expect(validateSteps([step('Bad Name')])[0].field).toBe('steps[0].name');
  });
});

describe(stepLevels.name, () => {
  it('groups steps whose dependencies are all in earlier levels', () => {
    expect(
      stepLevels([step('d', ['b', 'c']), step('a'), step('b', ['a']), step('c', ['a']), step('e')]),
    ).toEqual([['a', 'e'], ['b', 'c'], ['d']]);
  });
});
