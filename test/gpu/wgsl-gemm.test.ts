/**
 * The vec4 register-blocked WGSL GEMM (src/codegen/wgsl-gemm.ts) against a plain f64 triple loop: row-major and
 * transposed A, a second product, lanes over columns and over rows, and shapes that leave partial blocks
 * (M and N not multiples of the block), on the default adapter (llvmpipe here).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { emitWgslGemm, gemmBlock, gemmWorkgroups, type WgslGemmBlock, type WgslGemmOperand } from '../../src/codegen/wgsl-gemm.js';
import { acquireGpu, createComputeKernel, createStorageBuffer, createUniformBuffer, readBuffer, releaseGpu } from '../../src/runtime/index.js';

afterAll(() => releaseGpu());

/** A[M×K] (row-major or stored transposed) and B[K×N] row-major at consecutive offsets of one f32 array. */
function operands(M: number, N: number, K: number, transposedA: boolean, base: number, seed: number) {
  const a = Float64Array.from({ length: M * K }, (_, i) => Math.sin(0.37 * i + seed));
  const b = Float64Array.from({ length: K * N }, (_, i) => Math.cos(0.23 * i + 2 * seed));
  const stored = new Float64Array(M * K);
  for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) stored[transposedA ? k * M + i : i * K + k] = a[i * K + k]!;
  const aOp: WgslGemmOperand = transposedA ? { base, rowStride: 1, colStride: M } : { base, rowStride: K, colStride: 1 };
  const bOp: WgslGemmOperand = { base: base + M * K, rowStride: N, colStride: 1 };
  return { a, b, stored, aOp, bOp, words: M * K + K * N };
}

async function check(M: number, N: number, K: number, transposedA: boolean, second: boolean, block?: WgslGemmBlock): Promise<number> {
  const gpu = await acquireGpu();
  const first = operands(M, N, K, transposedA, 0, 1);
  const other = operands(M, N, K, !transposedA, first.words, 2);
  const out = first.words + (second ? other.words : 0);
  const mem = new Float32Array(out + M * N + 4);
  mem.set(first.stored, 0);
  mem.set(first.b, M * K);
  if (second) (mem.set(other.stored, first.words), mem.set(other.b, first.words + M * K));
  mem.fill(7, out, out + M * N); // the epilogue adds C to what is there: C + 7
  const spec = {
    M, N, K, a: first.aOp, b: first.bOp, ...(second ? { second: { a: other.aOp, b: other.bOp } } : {}),
    epilogue: ({ acc, o }: { acc: string; o: string }) => [`mem[${out / 4}u + ${o}] = mem[${out / 4}u + ${o}] + ${acc};`],
  };
  const used = block ?? gemmBlock(spec);
  const buffer = createStorageBuffer(gpu, mem, { readable: true });
  const ctl = createUniformBuffer(gpu, 16);
  try {
    const kernel = await createComputeKernel(gpu, { wgsl: emitWgslGemm(spec, used) });
    kernel.dispatch([buffer, ctl], gemmWorkgroups(spec, used));
    const got = new Float32Array(await readBuffer(gpu, buffer));
    let worst = 0;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let c = 7;
        for (let k = 0; k < K; k++) c += first.a[i * K + k]! * first.b[k * N + j]! + (second ? other.a[i * K + k]! * other.b[k * N + j]! : 0);
        worst = Math.max(worst, Math.abs(got[out + i * N + j]! - c) / (1 + Math.abs(c)));
      }
    }
    // Nothing past C is written.
    expect(got[out + M * N]).toBe(0);
    return worst;
  } finally {
    buffer.destroy();
    ctl.destroy();
  }
}

describe('vec4 register-blocked WGSL GEMM = f64 triple loop', () => {
  const cases: [string, number, number, number, boolean, boolean, WgslGemmBlock?][] = [
    ['256×200·200×… (default wide block: lanes over rows, 16 × 8 per invocation)', 256, 200, 200, false, false],
    ['wide block with lanes over columns, partial blocks', 200, 72, 40, false, false, { rows: 16, columnGroups: 2 }],
    ['wide block with lanes over columns, A transposed, two products', 200, 200, 32, true, true, { rows: 16, columnGroups: 2 }],
    ['A transposed, partial row and column blocks', 200, 12, 36, true, false],
    ['two products (weight-gradient shape), A transposed', 68, 20, 64, true, true],
    ['narrow N (lanes over rows), A row-major', 100, 4, 40, false, false],
    ['narrow N = 8 (lanes over rows), A transposed, two products', 36, 8, 16, true, true],
    ['explicit 4×4 block', 44, 28, 12, false, true, { rows: 4, columnGroups: 1 }],
  ];
  for (const [name, M, N, K, transposedA, second, block] of cases) {
    it(name, async () => {
      expect(await check(M, N, K, transposedA, second, block)).toBeLessThan(1e-5 * Math.sqrt(K));
    });
  }
});
