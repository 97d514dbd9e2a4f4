/**
 * Trajectory training of an lnn: the step program its windows are integrated with. Observations of an lnn are
 * (q, v). With `rk4` on the Euler–Lagrange ODE the state is (q, v) itself: the loss compares states with
 * observations directly and θ enters only through the step, so the exact discrete adjoint of the phase-space step
 * (`cpuAdjointBackend`, parameters passed per evaluation, nothing recompiled) is the gradient. The variational
 * methods also map velocities to momenta and back (`lnn-variational-objective.ts`).
 */
import { DarbouxError, showValue } from '../errors.js';
import { lagrangianStepProgram } from '../integrators/methods.js';
import { inputsOf } from '../ir/traverse.js';
import type { StepProgram } from '../integrators/step-program.js';
import type { NeuralModel } from '../models/neural/model.js';
import type { Lagrangian } from '../system/lagrangian.js';
import type { TrajectoryFitOptions } from './types.js';

/**
 * The step program of an lnn's trajectory training, with stored states for the adjoint: a variational method
 * (default 'variationalMidpoint'; state (q, p) with p the θ-dependent discrete momenta, so the objective maps the
 * observed start velocity in and compares discrete velocities: `lnn-variational-objective.ts`, and `variational` is set to a private copy of L
 * whose parameter arrays the objective overwrites), or 'rk4' on the Euler–Lagrange ODE (state (q, v), compared
 * directly). Refuses (OPTION) other methods, gradient 'adjoint' and a solver.
 *
 * @example
 * const { program, gradient } = lagrangianTrajectoryProgram(lnn({ dof: 1, hidden: [16], seed: 0 }), { method: 'rk4', horizon: 4 });
 * // program.method === 'rk4', gradient === 'backprop'
 */
export function lagrangianTrajectoryProgram(model: NeuralModel, options: TrajectoryFitOptions): { program: StepProgram; gradient: 'backprop'; variational?: Lagrangian } {
  const L = model.lagrangian;
  if (L === undefined) throw new DarbouxError('OPTION', `fit: an lnn model without a Lagrangian cannot be trained on trajectories`);
  if (inputsOf([L.L]).includes(L.time)) throw new DarbouxError('SPEC', 'fit: trajectory training needs an autonomous L (no explicit time dependence)');
  const method = options.method ?? 'variationalMidpoint';
  if (!METHODS.includes(method)) {
    throw new DarbouxError(
      'OPTION',
      `fit: trajectory training of an lnn integrates with ${METHODS.map((m) => `'${m}'`).join(', ')} (the data hold velocities), got ${showValue(method)}`,
      { option: 'method', value: method },
    );
  }
  if (options.gradient !== undefined && options.gradient !== 'backprop') {
    throw new DarbouxError('OPTION', `fit: trajectory training of an lnn stores the window's states: use gradient: 'backprop' (the default for an lnn), got ${showValue(options.gradient)}`, {
      option: 'gradient',
      value: options.gradient,
    });
  }
  if (options.solver !== undefined) throw new DarbouxError('OPTION', `fit: solver does not apply to a Lagrangian (variational steps are solved by Newton's method, rk4 is explicit); omit it`, { option: 'solver', value: options.solver });
  if (method === 'rk4') return { program: lagrangianStepProgram(L, 'rk4'), gradient: 'backprop' };
  const variational = L.withParams({});
  return { program: lagrangianStepProgram(variational, method), gradient: 'backprop', variational };
}

/** The methods an lnn trains through. */
const METHODS: readonly string[] = ['variationalMidpoint', 'variationalTrapezoid', 'rk4'];
