import { DarbouxError } from '../../errors.js';
import { constant, input } from '../../ir/build.js';
import { jvp } from '../../autodiff/jvp.js';
import { compileJs } from '../../codegen/emit-js.js';
import { jacobianColumns } from '../../integrators/jacobian.js';
import type { NeuralModel } from './model.js';

/**
 * The exact Jacobian ∂(q′, p′)/∂(q, p) of a learned map (a `sympnet`), by forward-mode autodiff of its
 * expressions, compiled once to f64 code; returns an evaluator giving row-major (2·dof)² matrices. With
 * `symplecticDefect` it checks JᵀΩJ = Ω for any trained parameters.
 *
 * @example
 * const J = mapJacobian(net)([0.3], [0.1]);
 * symplecticDefect(J); // ~1e-16
 */
export function mapJacobian(model: NeuralModel): (q: ArrayLike<number>, p: ArrayLike<number>) => Float64Array {
  if (model.map === undefined) throw new DarbouxError('SPEC', `mapJacobian: a ${model.kind} model has no map (only sympnet does)`);
  const n = model.dof;
  const out = model.map();
  const tq = input('aux', 'tangent_q', [n]), tp = input('aux', 'tangent_p', [n]);
  const [dq, dp] = jvp([out.q, out.p], new Map([[model.q, tq], [model.p, tp]]));
  const f = compileJs([model.q, model.p, tq, tp, ...model.paramNodes], [dq ?? constant(0, [n]), dp ?? constant(0, [n])]);
  const values = model.paramNodes.map((node) => model.params[node.attrs.name as string]!);
  return (q, p) => {
    if (q.length !== n || p.length !== n) throw new DarbouxError('INPUT', `mapJacobian: q and p need ${n} values, got ${q.length} and ${p.length}`);
    return jacobianColumns(n, (uq, up, oq, op) => f([q, p, uq, up, ...values], [oq, op]));
  };
}
