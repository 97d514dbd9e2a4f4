import type { StepBuilder } from './step-program.js';
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
