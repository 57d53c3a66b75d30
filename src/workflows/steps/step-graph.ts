import { OPERATION_NAMES } from 'src/clients/operation-registry';
import type { StepDefinition } from '../workflow.entity';

export interface FieldProblem {
  field: string;
  message: string;
}

const NAME = /^[a-z][a-z0-9_]{0,99}$/;

/**
 * Checks a step list as a DAG: names unique and well-formed, operations known,
 * depends_on naming earlier-or-later steps that exist, no cycles. Returns every
 * problem with its field path so a 400 can name them all at once.
 */
export function validateSteps(
  steps: StepDefinition[],
  operations: readonly string[] = OPERATION_NAMES,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (!Array.isArray(steps) || steps.length === 0) {
    return [{ field: 'steps', message: 'must be a non-empty array of steps' }];
  }
  const seen = new Map<string, number>();
  steps.forEach((step, i) => {
    if (!NAME.test(step.name ?? '')) {
      problems.push({
        field: `steps[${i}].name`,
        message: 'must match ^[a-z][a-z0-9_]*$ (at most 100 characters)',
      });
    } else if (seen.has(step.name)) {
      problems.push({
        field: `steps[${i}].name`,
        message: `duplicate step name "${step.name}" (also steps[${seen.get(step.name)}])`,
      });
    } else {
      seen.set(step.name, i);
    }
    if (!operations.includes(step.operation)) {
      problems.push({
        field: `steps[${i}].operation`,
        message: `unknown operation "${step.operation}"; known: ${operations.join(', ')}`,
      });
    }
  });
  steps.forEach((step, i) => {
    (step.depends_on ?? []).forEach((dep, j) => {
      if (!seen.has(dep)) {
        problems.push({ field: `steps[${i}].depends_on[${j}]`, message: `unknown step "${dep}"` });
      } else if (dep === step.name) {
        problems.push({
          field: `steps[${i}].depends_on[${j}]`,
          message: 'a step cannot depend on itself',
        });
      }
    });
  });
  if (problems.length === 0) {
    const cycle = findCycle(steps);
    if (cycle)
      problems.push({ field: 'steps', message: `dependency cycle: ${cycle.join(' -> ')}` });
  }
  return problems;
}

function findCycle(steps: StepDefinition[]): string[] | null {
  const deps = new Map(steps.map((s) => [s.name, s.depends_on ?? []]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): string[] | null => {
    if (state.get(name) === 'done') return null;
    if (state.get(name) === 'visiting') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'visiting');
    path.push(name);
    for (const dep of deps.get(name) ?? []) {
      const found = visit(dep);
      if (found) return found;
    }
    path.pop();
    state.set(name, 'done');
    return null;
  };
  for (const s of steps) {
    const found = visit(s.name);
    if (found) return found;
  }
  return null;
}

/**
 * Steps grouped by depth: every step's dependencies sit in earlier levels, so a level
 * can run in parallel. Assumes validateSteps passed.
 */
export function stepLevels(steps: StepDefinition[]): string[][] {
  const depth = new Map<string, number>();
  const byName = new Map(steps.map((s) => [s.name, s]));
  const depthOf = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    const d = Math.max(-1, ...(byName.get(name)!.depends_on ?? []).map(depthOf)) + 1;
    depth.set(name, d);
    return d;
  };
  const levels: string[][] = [];
  for (const s of steps) (levels[depthOf(s.name)] ??= []).push(s.name);
  return levels;
}
