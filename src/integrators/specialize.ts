import { tensorConstant } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { size } from '../ir/shape.js';
import { substitute } from '../ir/traverse.js';
import type { StepProgram } from './step-program.js';

/**
 * The same step with small parameters replaced by their current values as constants, so that constant folding
 * and the simplifier see them (λ = 1 removes a multiplication, k = 0 a whole term). A stepper fixes its
 * parameter values when it is compiled, so this changes no result; tensors larger than `maxElements` stay
 * inputs (inlining a network's weights would bloat the kernel). The program keeps its Hamiltonian, so exact
 * Jacobians and parameter gradients still see the parameters.
 *
 * @example
 * const fast = specializeParameters(stepProgram(henonHeiles().hamiltonian, 'leapfrog')); // λ inlined
 * const sweep = specializeParameters(program, 16, new Set([lamNode])); // λ stays an input (per-trajectory runs)
 */
export function specializeParameters(program: StepProgram, maxElements = 16, keep: ReadonlySet<Expr> = new Set()): StepProgram {
  const h = program.system;
  const values = new Map<Expr, Expr>();
  h.params.forEach((node, k) => {
    if (size(node.shape) <= maxElements && !keep.has(node)) values.set(node, tensorConstant(h.paramValues[k]!, node.shape));
  });
  if (values.size === 0) return program;
  const fp = program.implicit;
  const roots = [program.next.q, program.next.p, ...(fp ? [...fp.initial, ...fp.update, ...(fp.iteration ?? [])] : [])];
  const out = substitute(roots, values);
  const take = (n: number) => out.splice(0, n);
  const [q, p] = take(2);
  // The splitting stages refer to the unspecialised forces: they no longer describe `next`, so they are dropped.
  const { splitting: _stages, ...rest } = program;
  const specialized: StepProgram = { ...rest, next: { q: q!, p: p! } };
  if (fp === undefined) return specialized;
  const initial = take(fp.initial.length), update = take(fp.update.length);
  const iteration = fp.iteration ? take(fp.iteration.length) : undefined;
  return { ...specialized, implicit: { ...fp, initial, update, ...(iteration ? { iteration } : {}) } };
}
