/** Neural models: parameter store, initialisers, layers, and the hnn / mlpField / sympnet architectures. */
export type { NeuralModel, NeuralKind, ParamTensors } from './model.js';
export { createRandom, type Random } from './random.js';
export {
  ParamStore, glorot, he, normal, zerosInit, initialiser, fansOf, mergeParams, type Initialiser, type InitName, type Fans,
} from './params.js';
export {
  dense, mlp, mlpHidden, mlpScalar, activate, activationNames, type Activation, type DenseOptions, type MlpOptions,
} from './layers.js';
export { NetworkModel, type NetworkGraph } from './network-model.js';
export { hnn, type HnnOptions } from './hnn.js';
export { mlpField, type MlpFieldOptions } from './mlp-field.js';
export { sympnet, type SympNetOptions } from './sympnet.js';

import { glorot, he, normal, zerosInit } from './params.js';
/** The seeded initialisers by name. @example store.tensor('W', [8, 2], initialisers.normal(0.1)) */
export const initialisers = { glorot, he, normal, zeros: zerosInit } as const;
