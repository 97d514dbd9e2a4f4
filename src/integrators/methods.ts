import { closestName, DarbouxError, showValue } from '../errors.js';
import type { Hamiltonian } from '../system/hamiltonian.js';
import type { Lagrangian } from '../system/lagrangian.js';
import type { StepBuilder, StepProgram } from './step-program.js';
import { leapfrogStep } from './leapfrog.js';
import { rk4Step } from './rk4.js';
import { gauss4Step, gauss6Step, midpointStep } from './gauss-legendre.js';
import { suzuki6Step, symplecticEulerStep, yoshida4Step, yoshida8Step } from './compositions.js';
import { eulerLagrangeRk4Step, variationalMidpointStep, variationalTrapezoidStep } from './variational.js';

/**
 * The integration methods `compile` knows, by name.
 *
 * @example
 * Object.keys(methods) // ['leapfrog', 'symplecticEulerA', …, 'rk4']
 */
export const methods: Readonly<Record<string, StepBuilder>> = {
  leapfrog: leapfrogStep,
  symplecticEulerA: symplecticEulerStep('A'),
  symplecticEulerB: symplecticEulerStep('B'),
  yoshida4: yoshida4Step,
  suzuki6: suzuki6Step,
  yoshida8: yoshida8Step,
  midpoint: midpointStep,
  gauss4: gauss4Step,
  gauss6: gauss6Step,
  rk4: rk4Step,
};

/** Names of the known methods. @example methodNames().includes('leapfrog') */
export function methodNames(): string[] {
  return Object.keys(methods);
}

/**
 * Builds the step program of a method for a Hamiltonian (validating method and applicability).
 *
 * @example
 * const program = stepProgram(h, 'leapfrog');
 */
export function stepProgram(h: Hamiltonian, method: string): StepProgram {
  const build = typeof method === 'string' && Object.hasOwn(methods, method) ? methods[method] : undefined;
  if (build === undefined) {
    const close = typeof method === 'string' ? closestName(method, methodNames()) : undefined;
    throw new DarbouxError('OPTION', `unknown method ${showValue(method)}${close === undefined ? '' : ` (did you mean '${close}'?)`}; known methods: ${methodNames().join(', ')}`, {
      option: 'method',
      value: typeof method === 'string' ? method : showValue(method),
    });
  }
  let byMethod = programs.get(h);
  if (byMethod === undefined) programs.set(h, (byMethod = new Map()));
  let program = byMethod.get(method);
  if (program === undefined) byMethod.set(method, (program = build(h)));
  return program;
}

/** The programs built for a Hamiltonian, by method name, held as long as the Hamiltonian lives. */
const programs = new WeakMap<Hamiltonian, Map<string, StepProgram>>();

/**
 * The integration methods `compile` knows for a Lagrangian, by name: the variational integrators over the state
 * (q, p) with p the discrete momenta, and `rk4` on the Euler–Lagrange equations over (q, v).
 *
 * @example
 * Object.keys(lagrangianMethods) // ['variationalMidpoint', 'variationalTrapezoid', 'rk4']
 */
export const lagrangianMethods: Readonly<Record<string, (L: Lagrangian) => StepProgram>> = {
  variationalMidpoint: variationalMidpointStep,
  variationalTrapezoid: variationalTrapezoidStep,
  rk4: eulerLagrangeRk4Step,
};

/**
 * Builds (once per Lagrangian and method) the step program of a Lagrangian method, validating the name.
 *
 * @example
 * const program = lagrangianStepProgram(L, 'variationalMidpoint'); // state (q, p)
 */
export function lagrangianStepProgram(L: Lagrangian, method: string): StepProgram {
  const build = Object.hasOwn(lagrangianMethods, method) ? lagrangianMethods[method] : undefined;
  if (build === undefined) {
    throw new DarbouxError('OPTION', `unknown method '${method}' for a Lagrangian; known methods: ${Object.keys(lagrangianMethods).join(', ')} (or convert with L.toHamiltonian() for the Hamiltonian methods)`, { method });
  }
  let byMethod = lagrangianPrograms.get(L);
  if (byMethod === undefined) lagrangianPrograms.set(L, (byMethod = new Map()));
  let program = byMethod.get(method);
  if (program === undefined) byMethod.set(method, (program = build(L)));
  return program;
}

/** The programs built for a Lagrangian, by method name, held as long as the Lagrangian lives. */
const lagrangianPrograms = new WeakMap<Lagrangian, Map<string, StepProgram>>();
