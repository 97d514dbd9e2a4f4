/**
 * Instantiating a batched gradient's generated source: a WebAssembly memory and the SIMD GEMM when SIMD is wanted and
 * available (else a plain Float64Array and the source's JS GEMMs), and one factory per source kept in a small LRU
 * so that later fits of the same network share its warmed-up (optimised) code. Shared by the HNN and LNN lowerings.
 */
import { instantiateWasmGemm } from '../codegen/wasm-gemm.js';

/** WebAssembly pages (64 KiB) of a memory holding `size` float64 elements, plus one. @example wasmPages(8192) // 2 */
export function wasmPages(size: number): number {
  return Math.ceil((size * 8) / 65536) + 1;
}

/** A generated body's factory over its memory and GEMM. */
export type BatchedFactory<T> = (mem: Float64Array, gemm: unknown) => T;

/**
 * Builds the function of `sourceOf(simd)` (a function body over `mem` and `gemm`), with `simd` as asked and available.
 *
 * @example
 * const { made, source, size, simd } = instantiateBatched((simd) => batchedGradientSource(spec, simd), true, factories);
 */
export function instantiateBatched<T>(sourceOf: (simd: boolean) => { source: string; size: number }, simdWanted: boolean, factories: Map<string, BatchedFactory<T>>): { made: T; source: string; size: number; simd: boolean } {
  let simd = simdWanted;
  let memory: WebAssembly.Memory | undefined, gemm: unknown;
  if (simd) {
    memory = new WebAssembly.Memory({ initial: wasmPages(sourceOf(true).size) });
    gemm = instantiateWasmGemm(memory);
    simd = gemm !== undefined;
  }
  const { source, size } = sourceOf(simd);
  const mem = memory ? new Float64Array(memory.buffer, 0, size) : new Float64Array(size);
  let factory = factories.get(source);
  if (factory === undefined) {
    factory = new Function('mem', 'gemm', source) as BatchedFactory<T>;
    if (factories.size >= 32) factories.delete(factories.keys().next().value!);
    factories.set(source, factory);
  }
  return { made: factory(mem, gemm), source, size, simd };
}
