/** The straight-line code reader now lives in the ir layer (src/ir/wasm/straight-line.ts), where the pair loops use it too. */
export * from '../ir/wasm/straight-line.js';
