import type { StepBuilder } from './step-program.js';
import { leapfrogStep } from './leapfrog.js';
import { rk4Step } from './rk4.js';

/**
 * The integration methods `compile` knows, by name.
 *
 * @example
 * Object.keys(methods) // ['leapfrog', 'rk4']
 */
export const methods: Readonly<Record<string, StepBuilder>> = {
  leapfrog: leapfrogStep,
  rk4: rk4Step,
};

/** Names of the known methods. @example methodNames().includes('leapfrog') */
export function methodNames(): string[] {
  return Object.keys(methods);
}
