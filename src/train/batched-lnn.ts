/**
 * The batched CPU lowering of an LNN's acceleration loss: the minibatch (and, for the Hessian blocks, the minibatch
 * times the dof velocity directions) is a matrix dimension, so every dense product is a GEMM over a chunk of samples.
 *
 * For L = w·x_L, x_l = σ(a_l), a_l = W_l x_{l−1} + b_l, x_0 = z = [q; v] (S′, S″, S‴ = σ′, σ″, σ‴ at A_l; samples are
 * rows; "tangent" buffers have one row per (sample s, velocity direction j), row s·dof + j):
 *
 *   forward    A_l = X_{l−1}W_lᵀ + b_l, X_l = σ(A_l)
 *   ∇_z L      G_L = w, D_l = G_l ⊙ S′_l, G_{l−1} = D_l W_l                       (G_0 = ∂L/∂z)
 *   tangent    Ȧ_1 = Ż W_1ᵀ (Ż rows = e_{v_j}), Ẋ_l = S′_l ⊙ Ȧ_l, Ȧ_{l+1} = Ẋ_l W_{l+1}ᵀ
 *              Ġ_L = 0, Ḋ_l = Ġ_l ⊙ S′_l + G_l ⊙ S″_l ⊙ Ȧ_l, Ġ_{l−1} = Ḋ_l W_l     (Ġ_0 row (s, j) = ∂(∂L/∂z)/∂v_j)
 *   solve      M = ∂²L/∂v², rhs = ∂L/∂q − (∂²L/∂v∂q)v, a = M⁻¹rhs, loss = |a − a_data|²/dof (per sample, pivoted LU),
 *              r̄ = M⁻ᵀ ā; Ḡ_0 = [r̄; 0], Ġ̄_0 row (s, j) = [−r̄_j v; −r̄ a_j]
 *   reverse of the two backward passes, l = 1 … L:
 *              Ḋ̄_l = Ġ̄_{l−1}W_lᵀ, D̄_l = Ḡ_{l−1}W_lᵀ, Ġ̄_l = Ḋ̄_l ⊙ S′_l, Ḡ_l = D̄_l ⊙ S′_l + Σ_j Ḋ̄_l ⊙ S″_l ⊙ Ȧ_l,
 *              Ǡ_l = Ḋ̄_l ⊙ G_l ⊙ S″_l, Ā_l = D̄_l ⊙ G_l ⊙ S″_l + Σ_j Ḋ̄_l ⊙ (Ġ_l ⊙ S″_l + G_l ⊙ S‴_l ⊙ Ȧ_l)
 *   reverse of the two forward passes, l = L … 1:
 *              Ẋ̄_{l−1} = Ǡ_l W_l, X̄_{l−1} = Ā_l W_l, Ǡ_{l−1} += Ẋ̄ ⊙ S′, Ā_{l−1} += X̄ ⊙ S′ + Σ_j Ẋ̄ ⊙ S″ ⊙ Ȧ
 *   gradients  ∂W_l = Ḋ_lᵀĠ̄_{l−1} + D_lᵀḠ_{l−1} + Ǡ_lᵀẊ_{l−1} + Ā_lᵀX_{l−1}, ∂b_l = Σ_s Ā_l, ∂w = Σ_s Ḡ_L
 *
 * Widths are padded to multiples of 4 with zero weights; padded sample rows carry zero adjoints. The GEMMs are the
 * WebAssembly SIMD kernel (wasm-gemm.ts) or, without it, generated JS GEMMs (gemm-js.ts); the elementwise work and
 * the dof × dof solves are generated JS loops. All buffers are slices of one Float64Array at constant offsets.
 */
import { gemmSource, type GemmOperand } from '../codegen/gemm-js.js';
import type { BatchedLnnSpec } from './batched-lnn-match.js';
import { invariantTransformSource } from './batched-lnn-invariant.js';
import { lnnLayerBuffers, lnnPassLines, type LnnBuffers, type Product } from './batched-lnn-passes.js';
import { instantiateBatched, type BatchedFactory } from './batched-module.js';
import type { CpuBatchGradient } from './cpu-gradient.js';

/** The batch function a generated LNN body returns. */
type BatchFunction = (d: Float64Array, t: Float64Array, r: ArrayLike<number>, c: number, o: Float64Array) => void;

const rowMajor = (base: number, width: number): GemmOperand => ({ array: 'mem', base: String(base), rowStride: width, colStride: 1 });
const transposed = (base: number, width: number): GemmOperand => ({ array: 'mem', base: String(base), rowStride: 1, colStride: width });

/** The GEMMs of one layer k (0-based): forward, backward, their tangents and reverses, and the weight gradients. */
function layerProducts(b: LnnBuffers, k: number): Product[] {
  const B = b.layers[k]!, prev = k > 0 ? b.layers[k - 1] : undefined;
  const w = B.width, n = B.inWidth;
  const W = rowMajor(B.W, n), WT = rowMajor(B.WT, w);
  const x = prev ? prev.X : b.Z, xt = prev ? prev.Xt : b.Zt, gb = prev ? prev.Gb : b.Gb0, gtb = prev ? prev.Gtb : b.U;
  const out: Product[] = [
    { name: `forward_${k}`, C: B.X, N: w, a: rowMajor(x, n), b: WT },
    { name: `backward_${k}`, C: prev ? prev.G : b.G0, N: n, a: rowMajor(B.D, w), b: W },
    { name: `tangent_${k}`, C: B.At, N: w, a: rowMajor(xt, n), b: WT },
    { name: `tangentBackward_${k}`, C: prev ? prev.Gt : b.Gt0, N: n, a: rowMajor(B.Dt, w), b: W },
    { name: `reverseTangentBackward_${k}`, C: b.Dtb, N: w, a: rowMajor(gtb, n), b: WT },
    { name: `reverseBackward_${k}`, C: b.Db, N: w, a: rowMajor(gb, n), b: WT },
    { name: `weightsTangent_${k}`, C: B.gW, N: n, a: transposed(B.Dt, w), b: rowMajor(gtb, n), second: { a: transposed(B.Atb, w), b: rowMajor(xt, n) }, accumulate: true },
    { name: `weights_${k}`, C: B.gW, N: n, a: transposed(B.D, w), b: rowMajor(gb, n), second: { a: transposed(B.Ab, w), b: rowMajor(x, n) }, accumulate: true },
  ];
  if (prev) {
    out.push(
      { name: `reverseTangent_${k}`, C: b.Xtb, N: n, a: rowMajor(B.Atb, w), b: W },
      { name: `reverseForward_${k}`, C: b.Xb, N: n, a: rowMajor(B.Ab, w), b: W },
    );
  }
  return out;
}

/** A product as a generated JS GEMM `name(rows, K)` storing (or adding) into C. */
function jsProduct(p: Product): string {
  return gemmSource({ ...p, epilogue: ({ acc, o }) => [`mem[${p.C} + ${o}] ${p.accumulate ? '+=' : '='} ${acc};`] });
}

/** A product as calls of the WebAssembly SIMD GEMM (byte offsets; B's columns are contiguous). */
function simdProduct(p: Product): string {
  const call = (a: GemmOperand, b: GemmOperand, acc: boolean) =>
    `  gemm(${8 * p.C}, ${8 * Number(a.base)}, ${8 * a.rowStride}, ${8 * a.colStride}, ${8 * Number(b.base)}, ${8 * b.rowStride}, rows, ${p.N}, K, ${acc ? 1 : 0});`;
  const lines = [`function ${p.name}(rows, K) {`, call(p.a, p.b, p.accumulate ?? false)];
  if (p.second) lines.push(call(p.second.a, p.second.b, true));
  lines.push('}');
  return lines.join('\n');
}

/**
 * JavaScript source of the batched acceleration-loss gradient (a function body over `mem` and `gemm` returning the
 * batch function), and the number of f64 slots of `mem` it uses.
 *
 * @example
 * const { source, size } = batchedLnnGradientSource(spec, false);
 */
export function batchedLnnGradientSource(spec: BatchedLnnSpec, simd: boolean): { source: string; size: number } {
  const buffers = lnnLayerBuffers(spec);
  const products = buffers.layers.flatMap((_, k) => layerProducts(buffers, k));
  const source = [
    '"use strict";',
    `const LU = new Float64Array(${spec.dof * spec.dof}), PIV = new Int32Array(${spec.dof}), RHS = new Float64Array(${spec.dof}), ACC = new Float64Array(${spec.dof}), RB = new Float64Array(${spec.dof});`,
    ...products.map(simd ? simdProduct : jsProduct),
    ...(spec.invariant ? [invariantTransformSource(spec)] : []),
    'return function batchedLnnGradient(data, theta, rows, count, out) {',
    ...lnnPassLines(spec, buffers).map((l) => `  ${l}`),
    '};',
  ].join('\n');
  return { source, size: buffers.size };
}

const factories = new Map<string, BatchedFactory<BatchFunction>>();

/**
 * Compiles the batched acceleration-loss gradient of a matched LNN: the contract of `compileCpuGradient`
 * (out[0] = Σ loss, out[1 + j] = Σ ∂loss/∂θ_j over the rows), computed chunk by chunk with GEMMs — the WebAssembly
 * SIMD kernel by default, or the generated JS GEMMs with `simd: false` (or where WebAssembly SIMD is unavailable).
 *
 * @example
 * const spec = matchBatchedLnn(model, program);
 * const f = compileBatchedLnnGradient(spec as BatchedLnnSpec);
 * f(packed.rows, theta, rows, rows.length, out);
 */
export function compileBatchedLnnGradient(spec: BatchedLnnSpec, options: { simd?: boolean } = {}): CpuBatchGradient & { simd: boolean; source: string; size: number } {
  const { made, source, size, simd } = instantiateBatched((simd) => batchedLnnGradientSource(spec, simd), options.simd ?? true, factories);
  return Object.assign(made, { source, simd, size });
}
