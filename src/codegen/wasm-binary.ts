/** The WebAssembly binary writer now lives in the ir layer (src/ir/wasm/binary.ts), where the pair loops use it too. */
export * from '../ir/wasm/binary.js';
