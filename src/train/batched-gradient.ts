/**
 * The batched CPU lowering of an HNN's derivative loss: the minibatch is a tensor dimension, so every dense layer
 * is a matrix–matrix product over a chunk of samples (rows) instead of one matrix–vector product per sample.
 *
 * For one network H = w·x_L, x_l = σ(a_l), a_l = W_l x_{l−1} + b_l, x_0 = z = [q; p], with samples as rows
 * (X_l is chunk × width, ⊙ elementwise, S′_l = σ′(A_l), S″_l = σ″(A_l)):
 *
 *   forward    A_l = X_{l−1} W_lᵀ + b_l,   X_l = σ(A_l)                          (S′, S″ fused into the store)
 *   ∇_z H      G_L = 1 wᵀ,  D_l = G_l ⊙ S′_l,  G_{l−1} = D_l W_l,   ∇_z H = G_0
 *   loss       f = J G_0,  U_0 = ∂loss/∂G_0 (per row, 2·dof columns)
 *   tangent    V_l = U_{l−1} W_lᵀ,  U_l = V_l ⊙ S′_l,  Ā_l = V_l ⊙ G_l ⊙ S″_l   (reverse over the ∇_z H pass)
 *   reverse    Ā_{l−1} += (Ā_l W_l) ⊙ S′_{l−1}                                  (reverse over the forward pass)
 *   gradients  ∂W_l = D_lᵀ U_{l−1} + Ā_lᵀ X_{l−1} (one GEMM with two products),  ∂b_l = Σ_rows Ā_l,  ∂w = Σ_rows U_L
 *
 * Six GEMMs per hidden-to-hidden layer, each with its elementwise chain fused into the epilogue (gemm-js.ts).
 * Widths are padded to multiples of 4 with zero weights; padded rows of a chunk carry U_0 = 0, so they add
 * nothing. All buffers are slices of one Float64Array at constant offsets.
 */
import { gemmSource, type GemmOperand, type GemmSpec } from '../codegen/gemm-js.js';
import type { BatchedActivation, BatchedHnnSpec, BatchedLayer, BatchedNetwork } from './batched-match.js';
import { instantiateBatched, type BatchedFactory } from './batched-module.js';
import type { CpuBatchGradient } from './cpu-gradient.js';
import { GRADIENT_CHUNK, chunkedSums, type ChunkedGradient } from './chunked-gradient.js';

/** Samples per chunk (a multiple of 4): the chunk's activations stay in cache while its GEMMs run. */
const CHUNK = GRADIENT_CHUNK;

const pad4 = (n: number): number => (n + 3) & ~3;

/** Constant offsets of one layer's buffers in `mem`. */
interface LayerBuffers {
  width: number;
  inWidth: number;
  W: number; WT: number; b: number; gW: number; gb: number;
  X: number; S1: number; S2: number; G: number; D: number; U: number; Ab: number;
}

interface NetworkBuffers {
  layers: LayerBuffers[];
  w: number;
  gw: number;
  G0: number;
}

/** A bump allocator of constant offsets into one Float64Array. */
class Arena {
  size = 0;
  take(n: number): number {
    const at = this.size;
    this.size += n;
    return at;
  }
}

function allocate(spec: BatchedHnnSpec, arena: Arena) {
  const w0 = pad4(2 * spec.dof);
  const widest = Math.max(w0, ...spec.networks.flatMap((n) => n.layers.map((l) => pad4(l.width))));
  const shared = { Z: arena.take(CHUNK * w0), G0: arena.take(CHUNK * w0), U0: arena.take(CHUNK * w0), T: arena.take(CHUNK * widest) };
  const gradStart = arena.size;
  const grads = spec.networks.map((net) => {
    let inWidth = w0;
    const layers = net.layers.map((l) => {
      const width = pad4(l.width), g = { gW: arena.take(width * inWidth), gb: arena.take(width), width, inWidth };
      inWidth = width;
      return g;
    });
    return { layers, gw: arena.take(inWidth) };
  });
  const gradEnd = arena.size;
  const networks: NetworkBuffers[] = grads.map((g, n) => ({
    layers: g.layers.map((l) => ({
      ...l,
      W: arena.take(l.width * l.inWidth), WT: arena.take(l.width * l.inWidth), b: arena.take(l.width),
      X: arena.take(CHUNK * l.width), S1: arena.take(CHUNK * l.width), S2: arena.take(CHUNK * l.width),
      G: arena.take(CHUNK * l.width), D: arena.take(CHUNK * l.width), U: arena.take(CHUNK * l.width), Ab: arena.take(CHUNK * l.width),
    })),
    w: arena.take(g.layers.at(-1)!.width),
    gw: g.gw,
    G0: spec.networks.length === 1 ? shared.G0 : arena.take(CHUNK * w0),
  }));
  return { w0, shared, networks, gradStart, gradEnd };
}

/** The fused activation epilogue: value, σ′ and σ″ of a = acc (+ bias) into X, S1, S2. */
function activationLines(activation: BatchedActivation, a: string, L: LayerBuffers, o: string): string[] {
  const store = (s: string, d1: string, d2: string) => [`mem[${L.X} + ${o}] = ${s};`, `mem[${L.S1} + ${o}] = ${d1};`, `mem[${L.S2} + ${o}] = ${d2};`];
  switch (activation) {
    case 'tanh':
      return [`const s = Math.tanh(${a}), d = 1 - s * s;`, ...store('s', 'd', '-2 * s * d')];
    case 'sigmoid':
      return [`const s = 1 / (1 + Math.exp(-${a})), d = s * (1 - s);`, ...store('s', 'd', 'd * (1 - 2 * s)')];
    case 'softplus':
      return [`const e = 1 / (1 + Math.exp(-${a}));`, ...store(`Math.max(${a}, 0) + Math.log1p(Math.exp(-Math.abs(${a})))`, 'e', 'e * (1 - e)')];
    case 'sin':
      return [`const s = Math.sin(${a});`, ...store('s', `Math.cos(${a})`, '-s')];
  }
}

const rowMajor = (base: number, width: number): GemmOperand => ({ array: 'mem', base: String(base), rowStride: width, colStride: 1 });
const transposed = (base: number, width: number): GemmOperand => ({ array: 'mem', base: String(base), rowStride: 1, colStride: width });

/**
 * One product of the lowering: a GEMM, and what happens to each element — its epilogue (JS: fused into the block
 * store; WebAssembly: a JS loop over the product, written first to `raw`), or a plain add into `raw`.
 */
interface Product extends GemmSpec {
  raw: number;
  accumulate?: boolean;
}

/** The products of one network: forward, backward (∇_z H), tangent, reverse and parameter gradients. */
function networkProducts(net: BatchedNetwork, bufs: NetworkBuffers, tag: string, shared: { Z: number; U0: number; T: number }, simd: boolean): Product[] {
  const out: Product[] = [];
  const L = bufs.layers.length;
  bufs.layers.forEach((B, k) => {
    const layer: BatchedLayer = net.layers[k]!;
    const prev = k > 0 ? bufs.layers[k - 1]! : undefined;
    const xIn = prev ? prev.X : shared.Z, uIn = prev ? prev.U : shared.U0;
    // Wᵀ as the right operand: strided reads of W in JS, the contiguous copy WT for the SIMD kernel.
    const Wt = simd ? rowMajor(B.WT, B.width) : transposed(B.W, B.inWidth);
    const bias = layer.bias === undefined ? '' : ` + mem[${B.b} + j0]`;
    out.push({
      name: `forward${tag}_${k}`, N: B.width, K: B.inWidth, a: rowMajor(xIn, B.inWidth), b: Wt, raw: B.X,
      epilogue: ({ acc, j, o }) => [`const j0 = ${j};`, `const a = ${acc}${bias};`, ...activationLines(layer.activation, 'a', B, o)],
    });
    const gNext = k === L - 1 ? (j: string) => `mem[${bufs.w} + ${j}]` : (_j: string, o: string) => `mem[${B.G} + ${o}]`;
    out.push({
      name: `tangent${tag}_${k}`, N: B.width, K: B.inWidth, a: rowMajor(uIn, B.inWidth), b: Wt, raw: B.U,
      epilogue: ({ acc, j, o }) => [`const v = ${acc};`, `mem[${B.U} + ${o}] = v * mem[${B.S1} + ${o}];`, `mem[${B.Ab} + ${o}] = v * ${gNext(j, o)} * mem[${B.S2} + ${o}];`],
    });
    const W = rowMajor(B.W, B.inWidth);
    out.push(prev
      ? {
        name: `backward${tag}_${k}`, N: B.inWidth, K: B.width, a: rowMajor(B.D, B.width), b: W, raw: prev.G,
        epilogue: ({ acc, o }) => [`const g = ${acc};`, `mem[${prev.G} + ${o}] = g;`, `mem[${prev.D} + ${o}] = g * mem[${prev.S1} + ${o}];`],
      }
      : { name: `backward${tag}_${k}`, N: B.inWidth, K: B.width, a: rowMajor(B.D, B.width), b: W, raw: bufs.G0 });
    if (prev) {
      out.push({
        name: `reverse${tag}_${k}`, N: B.inWidth, K: B.width, a: rowMajor(B.Ab, B.width), b: W, raw: shared.T,
        epilogue: ({ acc, o }) => [`mem[${prev.Ab} + ${o}] += ${acc} * mem[${prev.S1} + ${o}];`],
      });
    }
    out.push({
      name: `weights${tag}_${k}`, N: B.inWidth, a: transposed(B.D, B.width), b: rowMajor(uIn, B.inWidth),
      second: { a: transposed(B.Ab, B.width), b: rowMajor(xIn, B.inWidth) }, raw: B.gW, accumulate: true,
    });
  });
  return out;
}

/** A product as a fused JavaScript GEMM. */
function jsProduct(p: Product): string {
  const epilogue = p.epilogue ?? (({ acc, o }) => [`mem[${p.raw} + ${o}] ${p.accumulate ? '+=' : '='} ${acc};`]);
  return gemmSource({ ...p, epilogue });
}

/** A product as calls of the WebAssembly SIMD GEMM (byte offsets) and, if it has one, a JS epilogue loop. */
function simdProduct(p: Product): string {
  const K = p.K ?? 'K';
  const call = (a: GemmOperand, b: GemmOperand, acc: boolean) =>
    `  gemm(${8 * p.raw}, ${8 * Number(a.base)}, ${8 * a.rowStride}, ${8 * a.colStride}, ${8 * Number(b.base)}, ${8 * b.rowStride}, rows, ${p.N}, ${K}, ${acc ? 1 : 0});`;
  const lines = [`function ${p.name}(rows, K) {`, call(p.a, p.b, p.accumulate ?? false)];
  if (p.second) lines.push(call(p.second.a, p.second.b, true));
  if (p.epilogue) {
    lines.push(
      `  for (let i = 0; i < rows; i++) for (let j = 0; j < ${p.N}; j++) {`,
      `    const o = i * ${p.N} + j;`,
      ...p.epilogue({ acc: `mem[${p.raw} + o]`, i: 'i', j: 'j', o: 'o' }).map((l) => `    ${l}`),
      '  }',
    );
  }
  lines.push('}');
  return lines.join('\n');
}

/** Main-loop lines of one network's forward and ∇_z H passes for a chunk of `m` rows. */
function firstPass(bufs: NetworkBuffers, tag: string): string[] {
  const L = bufs.layers.length, last = bufs.layers[L - 1]!;
  const lines = bufs.layers.map((_, k) => `forward${tag}_${k}(m);`);
  lines.push(
    `for (let s = 0; s < m; s++) for (let j = 0; j < ${last.width}; j++) { const o = s * ${last.width} + j; mem[${last.D} + o] = mem[${bufs.w} + j] * mem[${last.S1} + o]; }`,
  );
  for (let k = L - 1; k >= 0; k--) lines.push(`backward${tag}_${k}(m);`);
  return lines;
}

/** Main-loop lines of one network's second-order reverse pass and parameter gradients for a chunk. */
function secondPass(bufs: NetworkBuffers, tag: string): string[] {
  const L = bufs.layers.length, last = bufs.layers[L - 1]!;
  const lines = bufs.layers.map((_, k) => `tangent${tag}_${k}(m);`);
  for (let k = L - 1; k >= 1; k--) lines.push(`reverse${tag}_${k}(m);`);
  bufs.layers.forEach((B, k) => {
    lines.push(`weights${tag}_${k}(${B.width}, m);`);
    lines.push(`for (let s = 0; s < m; s++) for (let j = 0; j < ${B.width}; j++) mem[${B.gb} + j] += mem[${B.Ab} + s * ${B.width} + j];`);
  });
  lines.push(`for (let s = 0; s < m; s++) for (let j = 0; j < ${last.width}; j++) mem[${bufs.gw} + j] += mem[${last.U} + s * ${last.width} + j];`);
  return lines;
}

/** Copies θ into the padded weight buffers (unpack) or adds the padded gradients into out (scatter). */
function parameterMoves(net: BatchedNetwork, bufs: NetworkBuffers, dir: 'unpack' | 'scatter' | 'transpose'): string[] {
  if (dir === 'transpose') {
    return bufs.layers.map((B) => `for (let r = 0; r < ${B.width}; r++) for (let c = 0; c < ${B.inWidth}; c++) mem[${B.WT} + c * ${B.width} + r] = mem[${B.W} + r * ${B.inWidth} + c];`);
  }
  const lines: string[] = [];
  const move = (theta: string, buf: string) => (dir === 'unpack' ? `mem[${buf}] = theta[${theta}];` : `out[1 + ${theta}] += mem[${buf}];`);
  net.layers.forEach((layer, k) => {
    const B = bufs.layers[k]!;
    const [W, b] = dir === 'unpack' ? [B.W, B.b] : [B.gW, B.gb];
    for (const blk of layer.weights) {
      lines.push(`for (let r = 0; r < ${blk.rows}; r++) for (let c = 0; c < ${blk.cols}; c++) ${move(`${blk.offset} + r * ${blk.cols} + c`, `${W} + r * ${B.inWidth} + ${blk.inputColumn} + c`)}`);
    }
    if (layer.bias !== undefined) lines.push(`for (let r = 0; r < ${layer.width}; r++) ${move(`${layer.bias} + r`, `${b} + r`)}`);
  });
  const width = net.layers.at(-1)!.width;
  lines.push(`for (let r = 0; r < ${width}; r++) ${move(`${net.out} + r`, `${dir === 'unpack' ? bufs.w : bufs.gw} + r`)}`);
  return lines;
}

/** Loads a chunk's z = [q; p] rows (zero rows past the last sample). */
function loadLines(spec: BatchedHnnSpec, w0: number, Z: number): string[] {
  const { dof, columns, stride } = spec;
  return [
    'for (let s = 0; s < m; s++) {',
    `  const zb = ${Z} + s * ${w0};`,
    `  if (s < n) { const base = rows[s0 + s] * ${stride}; for (let i = 0; i < ${dof}; i++) { mem[zb + i] = data[base + ${columns.q} + i]; mem[zb + ${dof} + i] = data[base + ${columns.p} + i]; } }`,
    `  else for (let i = 0; i < ${w0}; i++) mem[zb + i] = 0;`,
    '}',
  ];
}

/** The loss of a chunk's rows and U_0 = ∂loss/∂(∇_z H) (zero on padded rows). */
function lossLines(spec: BatchedHnnSpec, w0: number, shared: { G0: number; U0: number }, nets: NetworkBuffers[]): string[] {
  const { dof, columns, stride } = spec;
  const lines: string[] = [];
  if (nets.length > 1) {
    const sum = nets.map((b) => `mem[${b.G0} + o]`).join(' + ');
    lines.push(`for (let o = 0; o < m * ${w0}; o++) mem[${shared.G0} + o] = ${sum};`);
  }
  lines.push(
    'for (let s = 0; s < m; s++) {',
    `  const gb = ${shared.G0} + s * ${w0}, ub = ${shared.U0} + s * ${w0};`,
    `  if (s >= n) { for (let i = 0; i < ${w0}; i++) mem[ub + i] = 0; continue; }`,
    `  const base = rows[s0 + s] * ${stride};`,
    '  let sq = 0;',
    `  for (let i = 0; i < ${dof}; i++) {`,
    `    const rq = mem[gb + ${dof} + i] - data[base + ${columns.dqdt} + i], rp = -mem[gb + i] - data[base + ${columns.dpdt} + i];`,
    '    sq += rq * rq + rp * rp;',
    `    mem[ub + ${dof} + i] = rq / ${dof}; mem[ub + i] = -rp / ${dof};`,
    '  }',
    `  loss += sq / ${2 * dof};`,
    '}',
  );
  return lines;
}

/**
 * JavaScript source of the batched derivative-loss gradient (a function body returning the batch function).
 *
 * @example
 * const src = batchedGradientSource(spec); // new Function(src)() is a CpuBatchGradient
 */
export function batchedGradientSource(spec: BatchedHnnSpec, simd = false): { source: string; size: number } {
  const arena = new Arena();
  const { w0, shared, networks, gradStart, gradEnd } = allocate(spec, arena);
  const tags = spec.networks.map((_, n) => `n${n}`);
  const products = spec.networks.flatMap((net, n) => networkProducts(net, networks[n]!, tags[n]!, shared, simd));
  const prepare = [
    ...spec.networks.flatMap((net, n) => parameterMoves(net, networks[n]!, 'unpack')),
    ...(simd ? spec.networks.flatMap((net, n) => parameterMoves(net, networks[n]!, 'transpose')) : []),
  ];
  // One chunk of n ≤ CHUNK rows (from rows[s0]) into out, overwritten: its loss sum and parameter gradient sums.
  const chunk = [
    'out.fill(0);',
    `mem.fill(0, ${gradStart}, ${gradEnd});`,
    'let loss = 0;',
    'const m = (n + 3) & ~3;',
    ...loadLines(spec, w0, shared.Z),
    ...networks.flatMap((b, n) => firstPass(b, tags[n]!)),
    ...lossLines(spec, w0, shared, networks),
    ...networks.flatMap((b, n) => secondPass(b, tags[n]!)),
    'out[0] = loss;',
    ...spec.networks.flatMap((net, n) => parameterMoves(net, networks[n]!, 'scatter')),
  ];
  const source = [
    '"use strict";',
    ...products.map(simd ? simdProduct : jsProduct),
    'return {',
    '  prepare(theta) {',
    ...prepare.map((l) => `    ${l}`),
    '  },',
    '  chunk(data, rows, s0, n, out) {',
    ...chunk.map((l) => `    ${l}`),
    '  },',
    '};',
  ].join('\n');
  return { source, size: arena.size };
}

/** What a worker thread needs to build the same batched gradient (gradient-threads.ts). */
export interface BatchedGradientSource {
  source: string;
  /** Float64 elements of `mem`. */
  size: number;
  simd: boolean;
}

/** A compiled batched gradient: the batch function, its chunks, and how to rebuild it elsewhere. */
export type BatchedGradient = CpuBatchGradient & { simd: boolean; chunks: ChunkedGradient; build: BatchedGradientSource };

/**
 * Compiles the batched derivative-loss gradient of a matched HNN: the same contract as `compileCpuGradient`
 * (out[0] = Σ loss, out[1 + j] = Σ ∂loss/∂θ_j over the rows), computed chunk by chunk (GRADIENT_CHUNK rows, each
 * chunk's sums from zero, added in chunk order: chunked-gradient.ts) with GEMMs — the WebAssembly SIMD kernel
 * (wasm-gemm.ts) with JS epilogue loops by default, or with `simd: false` (or where WebAssembly SIMD is
 * unavailable) the generated JS GEMMs with fused epilogues. `simd` on the result says which; `chunks` is the
 * chunked form (`prepare`, `chunk`).
 *
 * @example
 * const spec = matchBatchedHnn(model, program);
 * const f = compileBatchedGradient(spec as BatchedHnnSpec);
 * f(packed.rows, theta, rows, rows.length, out);
 */
export function compileBatchedGradient(spec: BatchedHnnSpec, options: { simd?: boolean } = {}): BatchedGradient {
  const { made: chunks, source, size, simd } = instantiateBatched((simd) => batchedGradientSource(spec, simd), options.simd ?? true, factories);
  let partial = new Float64Array(0);
  const batchGradient = (data: Float64Array, theta: Float64Array, rows: ArrayLike<number>, count: number, out: Float64Array) => {
    if (partial.length !== out.length) partial = new Float64Array(out.length);
    chunkedSums(chunks, data, theta, rows instanceof Uint32Array ? rows : Uint32Array.from(rows), count, out, partial);
  };
  return Object.assign(batchGradient, { source, simd, chunks, build: { source, size, simd } });
}

const factories = new Map<string, BatchedFactory<ChunkedGradient>>();
