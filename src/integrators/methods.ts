import { closestName, DarbouxError, showValue } from '../errors.js';
import type { Hamiltonian } from '../system/hamiltonian.js';
import type { StepBuilder, StepProgram } from './step-program.js';
import { leapfrogStep } from './leapfrog.js';
import { rk4Step } from './rk4.js';
import { gauss4Step, gauss6Step, midpointStep } from './gauss-legendre.js';
import { suzuki6Step, symplecticEulerStep, yoshida4Step, yoshida8Step } from './compositions.js';

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
