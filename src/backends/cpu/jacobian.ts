import { compileJs, type JsFunction } from '../../codegen/emit-js.js';
import { JS_FIXED_POINT } from '../../codegen/emit-js-stepper.js';
import type { FixedPointSettings } from '../../codegen/step-body.js';
import { jacobianColumns, tangentStep } from '../../integrators/jacobian.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { implicitJacobianFunction } from './implicit-jacobian.js';

/**
 * A function computing the exact Jacobian ∂(q₁, p₁)/∂(q₀, p₀) of one step, row-major (2·dof)², f64:
 * column j is the tangent step applied to the j-th unit vector.
 *
 * @example
 * const J = jacobianFunction(program)(q, p, 0.01, 0); // Float64Array of (2·dof)²
 */
export function jacobianFunction(
  program: StepProgram,
  settings: FixedPointSettings = JS_FIXED_POINT,
): (q: ArrayLike<number>, p: ArrayLike<number>, dt: number, t: number) => Float64Array {
  if (program.implicit) return implicitJacobianFunction(program, settings);
  const h = program.system;
  const { tq, tp, dq, dp } = tangentStep(program);
  const f: JsFunction = compileJs([h.q, h.p, h.dt, h.time, tq, tp, ...h.params], [dq, dp]);
  return (q, p, dt, t) => jacobianColumns(h.dof, (uq, up, oq, op) => f([q, p, [dt], [t], uq, up, ...h.paramValues], [oq, op]));
}
