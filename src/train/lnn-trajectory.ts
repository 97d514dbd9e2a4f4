/**
 * Trajectory training of an lnn: the step program its windows are integrated with. Observations of an lnn are
 * (q, v), so the windows run `rk4` on the Euler–Lagrange ODE, whose state is (q, v) itself: the loss compares
 * states with observations directly and θ enters only through the step, so the exact discrete adjoint of the
 * phase-space step (`cpuAdjointBackend`, parameters passed per evaluation, nothing recompiled) is the gradient.
 */
import { DarbouxError, showValue } from '../errors.js';
import { lagrangianStepProgram } from '../integrators/methods.js';
import { inputsOf } from '../ir/traverse.js';
import type { StepProgram } from '../integrators/step-program.js';
import type { NeuralModel } from '../models/neural/model.js';
import type { TrajectoryFitOptions } from './types.js';

/**
 * The step program of an lnn's trajectory training: `rk4` on its Euler–Lagrange ODE (state (q, v)), with stored
 * states for the adjoint (rk4 has no inverse step). Refuses (OPTION) the variational methods, whose state holds
 * the θ-dependent discrete momenta while the data hold velocities, and gradient 'adjoint' (no inverse step).
 *
 * @example
 * const { program, gradient } = lagrangianTrajectoryProgram(lnn({ dof: 1, hidden: [16], seed: 0 }), { horizon: 4 });
 * // program.method === 'rk4', gradient === 'backprop'
 */
export function lagrangianTrajectoryProgram(model: NeuralModel, options: TrajectoryFitOptions): { program: StepProgram; gradient: 'backprop' } {
  const L = model.lagrangian;
  if (L === undefined) throw new DarbouxError('OPTION', `fit: an lnn model without a Lagrangian cannot be trained on trajectories`);
  if (inputsOf([L.L]).includes(L.time)) throw new DarbouxError('SPEC', 'fit: trajectory training needs an autonomous L (no explicit time dependence)');
  const method = options.method ?? 'rk4';
  if (method !== 'rk4') {
    throw new DarbouxError(
      'OPTION',
      `fit: trajectory training of an lnn integrates its Euler–Lagrange ODE with method 'rk4' (state (q, v), as the data hold velocities), got ${showValue(method)}; ` +
        "the variational methods advance θ-dependent discrete momenta: differentiate such runs with compile(model.lagrangian, { method: 'variationalMidpoint', … }).vjp",
      { option: 'method', value: method },
    );
  }
  if (options.gradient !== undefined && options.gradient !== 'backprop') {
    throw new DarbouxError('OPTION', `fit: rk4 has no inverse step, so trajectory training of an lnn stores the window's states: use gradient: 'backprop' (the default for an lnn), got ${showValue(options.gradient)}`, {
      option: 'gradient',
      value: options.gradient,
    });
  }
  if (options.solver !== undefined) throw new DarbouxError('OPTION', `fit: solver does not apply to rk4 (an explicit method); omit it`, { option: 'solver', value: options.solver });
  return { program: lagrangianStepProgram(L, 'rk4'), gradient: 'backprop' };
}
