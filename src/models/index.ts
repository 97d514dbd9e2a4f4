export type { Model } from './model.js';
export { harmonicOscillator } from './harmonic-oscillator.js';
export { pendulum } from './pendulum.js';
export { kepler } from './kepler.js';
export { henonHeiles } from './henon-heiles.js';
export { lennardJones } from './lennard-jones.js';
