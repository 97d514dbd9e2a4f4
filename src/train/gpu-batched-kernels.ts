/**
 * The GPU counterpart of batched-gradient.ts: the derivative-loss gradient of a matched HNN as a sequence of
 * WGSL dispatches over a chunk of `rows` samples (the minibatch as a tensor dimension). The matrix formulas are
 * those of batched-gradient.ts's header; every dense product is a tiled GEMM (codegen/wgsl-gemm.ts) with its
 * elementwise chain fused into the store (vec4 at a time). All tensors are slices of one f32 storage array `mem`
 * at constant offsets that are multiples of 4 (the GEMMs read it as vec4<f32>); θ is copied into the padded
 * weights W and their transposes Wᵀ (so every B operand is row-major) by an index map, and the gradient read
 * out by another.
 *
 * Per chunk: load z, forward (the last layer also stores D_L = w ⊙ σ'), ∇_z H (backward), loss and U_0,
 * tangent, reverse, weight gradients (accumulated over chunks: ctl.first), bias and output-weight row sums.
 * Per batch: unpack θ first, scatter the sums last.
 */
import { emitWgslGemm, gemmBlock, gemmWorkgroups, type WgslGemmBlock, type WgslGemmOperand } from '../codegen/wgsl-gemm.js';
import type { BatchedActivation, BatchedHnnSpec, BatchedLayer } from './batched-match.js';

/** Invocations per workgroup of the one-dimensional kernels. */
const GROUP = 64;

/** Which buffers a kernel binds, in binding order ('mem' and 'ctl' are always bindings 0 and the last). */
export type BatchedBinding = 'mem' | 'data' | 'rows' | 'params' | 'map' | 'sums' | 'ctl';

/** One dispatch of the sequence. */
export interface BatchedKernel {
  label: string;
  wgsl: string;
  bindings: BatchedBinding[];
  workgroups: [number, number];
  /** 'unpack' runs once per batch before the chunks, 'scatter' once after them, 'chunk' once per chunk. */
  phase: 'unpack' | 'chunk' | 'scatter';
}

interface LayerSlots {
  width: number; inWidth: number;
  W: number; WT: number; b: number; gW: number; gb: number;
  X: number; S1: number; S2: number; G: number; D: number; U: number; Ab: number;
}

/** The kernels and sizes of one batched GPU gradient. */
export interface BatchedGpuProgram {
  kernels: BatchedKernel[];
  /** f32 words of `mem`. */
  memWords: number;
  /** Samples per chunk (a multiple of 16). */
  chunk: number;
  /** mem indices of θ_j (unpack: two per parameter, the second Wᵀ's or a dump word) and of ∂loss/∂θ_j (scatter). */
  thetaMap: Uint32Array;
  gradientMap: Uint32Array;
}

const pad4 = (n: number): number => (n + 3) & ~3;
const rowMajor = (base: number, width: number): WgslGemmOperand => ({ base, rowStride: width, colStride: 1 });
const transposed = (base: number, width: number): WgslGemmOperand => ({ base, rowStride: 1, colStride: width });

const CTL = 'struct Ctl { first: u32, rows: u32, offset: u32, pad: u32 }';
const MEM = '@group(0) @binding(0) var<storage, read_write> mem: array<f32>;';

/** vec4 statements from the pre-activation `a`: σ, σ', σ'' stored at X, S1, S2 (vec4 index o), σ' left in `d1`. */
function activationWgsl(activation: BatchedActivation, L: LayerSlots): string[] {
  const store = (s: string, d1: string, d2: string) => [`let d1 = ${d1};`, `mem[${q(L.X)}u + o] = ${s};`, `mem[${q(L.S1)}u + o] = d1;`, `mem[${q(L.S2)}u + o] = ${d2};`];
  switch (activation) {
    case 'tanh':
      return ['let s = tanh(clamp(a, vec4<f32>(-10.0), vec4<f32>(10.0))); let d = 1.0 - s * s;', ...store('s', 'd', '-2.0 * s * d')];
    case 'sigmoid':
      return ['let s = 1.0 / (1.0 + exp(-a)); let d = s * (1.0 - s);', ...store('s', 'd', 'd * (1.0 - 2.0 * s)')];
    case 'softplus':
      return ['let e = 1.0 / (1.0 + exp(-a));', ...store('max(a, vec4<f32>(0.0)) + log(1.0 + exp(-abs(a)))', 'e', 'e * (1.0 - e)')];
    case 'sin':
      return ['let s = sin(a);', ...store('s', 'cos(a)', '-s')];
  }
}

/** A float offset of mem (a multiple of 4) as a vec4 index. */
const q = (floats: number): number => floats / 4;

/** A one-dimensional kernel over `count` items (index `g`), binding mem, the given buffers, then ctl. */
function elementwise(label: string, phase: BatchedKernel['phase'], count: number, extra: { name: BatchedBinding; decl: string }[], body: string[]): BatchedKernel {
  const decls = extra.map((e, i) => `@group(0) @binding(${i + 1}) ${e.decl}`);
  const wgsl = [
    CTL, MEM, ...decls, `@group(0) @binding(${extra.length + 1}) var<uniform> ctl: Ctl;`,
    `@compute @workgroup_size(${GROUP})`,
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>) {',
    '  let g = gid.x;',
    `  if (g >= ${count}u) { return; }`,
    ...body.map((l) => `  ${l}`),
    '}',
  ].join('\n');
  return { label, wgsl, bindings: ['mem', ...extra.map((e) => e.name), 'ctl'], workgroups: [Math.ceil(count / GROUP), 1], phase };
}

/** One row sum: dst[j] (+)= Σ_s src[s·width + j] over the chunk's rows (floats; all multiples of 4). */
interface RowSum { src: number; width: number; dst: number }

/**
 * Every row sum of the chunk (bias and output-weight gradients) and the loss sum in one dispatch: one
 * invocation per 4 output columns, reading vec4s (on llvmpipe each dispatch and each per-lane load cost more than
 * the adds). The loss [chunk] is read as [chunk/4 × 4] and its 4 partial sums added at the end. ctl.first: assign.
 */
function rowSums(chunk: number, sums: RowSum[], loss: number, lossAcc: number): BatchedKernel {
  const src: number[] = [], stride: number[] = [], dst: number[] = [];
  for (const r of sums) for (let c = 0; c < r.width / 4; c++) src.push(q(r.src) + c), stride.push(r.width / 4), dst.push(q(r.dst) + c);
  const n = src.length;
  const table = (name: string, xs: number[]) => `const ${name} = array<u32, ${n + 1}>(${[...xs, 0].map((x) => `${x}u`).join(', ')});`;
  const wgsl = [
    CTL, '@group(0) @binding(0) var<storage, read_write> mem: array<vec4<f32>>;', '@group(0) @binding(1) var<uniform> ctl: Ctl;',
    table('SRC', src), table('STRIDE', stride), table('DST', dst),
    `@compute @workgroup_size(${GROUP})`,
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>) {',
    '  let g = gid.x;',
    `  if (g > ${n}u) { return; }`,
    `  let isLoss = g == ${n}u;`,
    `  let first = select(SRC[g], ${q(loss)}u, isLoss); let step = select(STRIDE[g], 1u, isLoss); let rows = select(${chunk}u, ${chunk / 4}u, isLoss);`,
    '  var acc = vec4<f32>(0.0);',
    '  for (var s: u32 = 0u; s < rows; s++) { acc += mem[first + s * step]; }',
    '  if (isLoss) {',
    '    let total = acc.x + acc.y + acc.z + acc.w;',
    `    if (ctl.first == 1u) { mem[${q(lossAcc)}u].x = total; } else { mem[${q(lossAcc)}u].x += total; }`,
    '  } else if (ctl.first == 1u) { mem[DST[g]] = acc; } else { mem[DST[g]] += acc; }',
    '}',
  ].join('\n');
  return { label: 'row-sums', wgsl, bindings: ['mem', 'ctl'], workgroups: [Math.ceil((n + 1) / GROUP), 1], phase: 'chunk' };
}

/** GEMM register blocks: 'wide' (gemmBlock: up to 16 rows × 8 columns per invocation, the fast one) or 'narrow' (4 × 4). */
export type GemmTiling = 'wide' | 'narrow';
let tiling: GemmTiling = 'wide';

function gemm(label: string, spec: Parameters<typeof emitWgslGemm>[0]): BatchedKernel {
  const block: WgslGemmBlock = tiling === 'wide' ? gemmBlock(spec) : { rows: 4, columnGroups: 1 };
  return { label, wgsl: emitWgslGemm(spec, block), bindings: ['mem', 'ctl'], workgroups: gemmWorkgroups(spec, block), phase: 'chunk' };
}

/**
 * Selects the GEMM register blocks of later batched GPU programs (tests run both); returns the previous choice.
 *
 * @example
 * const before = setGemmTiling('narrow');
 */
export function setGemmTiling(next: GemmTiling): GemmTiling {
  const before = tiling;
  tiling = next;
  return before;
}

const DATA = { name: 'data' as const, decl: 'var<storage, read> data: array<f32>;' };
const ROWS = { name: 'rows' as const, decl: 'var<storage, read> rows: array<u32>;' };
const MAP = { name: 'map' as const, decl: 'var<storage, read> map: array<u32>;' };

/**
 * The batched GPU gradient's kernels, in dispatch order within each phase, and its memory plan.
 *
 * @example
 * const { kernels, memWords, chunk } = batchedGpuProgram(spec, 256);
 */
export function batchedGpuProgram(spec: BatchedHnnSpec, batch: number): BatchedGpuProgram {
  const chunk = Math.min(1024, Math.max(16, Math.ceil(batch / 16) * 16));
  const { dof, columns, stride } = spec;
  const w0 = pad4(2 * dof);
  let size = 0;
  // Every slot starts at a multiple of 4 floats (a vec4 boundary).
  const take = (n: number) => ((size = pad4(size) + n), size - n);
  const zero = take(1), dump = take(1), lossAcc = take(1);
  const Z = take(chunk * w0), G0 = take(chunk * w0), U0 = take(chunk * w0), LOSS = take(chunk);
  const thetaMap = new Uint32Array(2 * spec.parameters).fill(dump), gradientMap = new Uint32Array(spec.parameters).fill(zero);
  const kernels: BatchedKernel[] = [];
  const nets = spec.networks.map((net) => {
    let inWidth = w0;
    const layers = net.layers.map((l): LayerSlots => {
      const width = pad4(l.width);
      const s = {
        width, inWidth, W: take(width * inWidth), WT: take(width * inWidth), b: take(width), gW: take(width * inWidth), gb: take(width),
        X: take(chunk * width), S1: take(chunk * width), S2: take(chunk * width), G: take(chunk * width), D: take(chunk * width), U: take(chunk * width), Ab: take(chunk * width),
      };
      inWidth = width;
      return s;
    });
    return { net, layers, w: take(inWidth), gw: take(inWidth), G0: spec.networks.length === 1 ? G0 : take(chunk * w0) };
  });
  parameterMaps(nets, thetaMap, gradientMap);
  const P = spec.parameters;
  const PARAMS = { name: 'params' as const, decl: 'var<storage, read> params: array<f32>;' };
  kernels.push(elementwise('unpack', 'unpack', P, [PARAMS, MAP], ['let v = params[g]; mem[map[2u * g]] = v; mem[map[2u * g + 1u]] = v;']));
  kernels.push(elementwise('load', 'chunk', chunk, [DATA, ROWS], [
    `let zb = ${Z}u + g * ${w0}u;`,
    `if (g < ctl.rows) { let base = rows[ctl.offset + g] * ${stride}u; for (var i: u32 = 0u; i < ${dof}u; i++) { mem[zb + i] = data[base + ${columns.q}u + i]; mem[zb + ${dof}u + i] = data[base + ${columns.p}u + i]; } }`,
    `else { for (var i: u32 = 0u; i < ${w0}u; i++) { mem[zb + i] = 0.0; } }`,
  ]));
  nets.forEach((n, t) => kernels.push(...firstPass(n, t, chunk, Z)));
  if (nets.length > 1) {
    kernels.push(elementwise('sum-g0', 'chunk', chunk * w0, [], [`mem[${G0}u + g] = ${nets.map((n) => `mem[${n.G0}u + g]`).join(' + ')};`]));
  }
  kernels.push(elementwise('loss', 'chunk', chunk, [DATA, ROWS], [
    `let gb = ${G0}u + g * ${w0}u; let ub = ${U0}u + g * ${w0}u;`,
    `if (g >= ctl.rows) { for (var i: u32 = 0u; i < ${w0}u; i++) { mem[ub + i] = 0.0; } mem[${LOSS}u + g] = 0.0; return; }`,
    `let base = rows[ctl.offset + g] * ${stride}u;`,
    'var sq: f32 = 0.0;',
    `for (var i: u32 = 0u; i < ${dof}u; i++) {`,
    `  let rq = mem[gb + ${dof}u + i] - data[base + ${columns.dqdt}u + i]; let rp = -mem[gb + i] - data[base + ${columns.dpdt}u + i];`,
    '  sq += rq * rq + rp * rp;',
    `  mem[ub + ${dof}u + i] = rq / ${dof}.0; mem[ub + i] = -rp / ${dof}.0;`,
    '}',
    `mem[${LOSS}u + g] = sq / ${2 * dof}.0;`,
  ]));
  const sums: RowSum[] = [];
  nets.forEach((n, t) => kernels.push(...secondPass(n, t, chunk, Z, U0, sums)));
  kernels.push(rowSums(chunk, sums, LOSS, lossAcc));
  const SUMS = { name: 'sums' as const, decl: 'var<storage, read_write> sums: array<f32>;' };
  kernels.push(elementwise('scatter', 'scatter', P + 1, [SUMS, MAP], [`if (g == 0u) { sums[0] = mem[${lossAcc}u]; } else { sums[g] = mem[map[g - 1u]]; }`]));
  return { kernels, memWords: pad4(size), chunk, thetaMap, gradientMap };
}

/** Fills the index maps: θ_j → its padded weight slot in mem, and ∂loss/∂θ_j ← its gradient slot. */
function parameterMaps(nets: NetSlots[], thetaMap: Uint32Array, gradientMap: Uint32Array): void {
  for (const { net, layers, w, gw } of nets) {
    net.layers.forEach((layer: BatchedLayer, k) => {
      const B = layers[k]!;
      for (const blk of layer.weights) {
        for (let r = 0; r < blk.rows; r++) for (let c = 0; c < blk.cols; c++) {
          const j = blk.offset + r * blk.cols + c, o = r * B.inWidth + blk.inputColumn + c;
          thetaMap[2 * j] = B.W + o;
          thetaMap[2 * j + 1] = B.WT + (blk.inputColumn + c) * B.width + r;
          gradientMap[j] = B.gW + o;
        }
      }
      if (layer.bias !== undefined) for (let r = 0; r < layer.width; r++) (thetaMap[2 * (layer.bias + r)] = B.b + r), (gradientMap[layer.bias + r] = B.gb + r);
    });
    for (let r = 0; r < net.layers.at(-1)!.width; r++) (thetaMap[2 * (net.out + r)] = w + r), (gradientMap[net.out + r] = gw + r);
  }
}

type NetSlots = { net: BatchedHnnSpec['networks'][number]; layers: LayerSlots[]; w: number; gw: number; G0: number };

/** Forward and ∇_z H of one network. */
function firstPass({ net, layers, w, G0 }: NetSlots, t: number, chunk: number, Z: number): BatchedKernel[] {
  const out: BatchedKernel[] = [];
  layers.forEach((B, k) => {
    const layer = net.layers[k]!;
    const xIn = k > 0 ? layers[k - 1]!.X : Z;
    const bias = layer.bias === undefined ? '' : ` + mem[${q(B.b)}u + j4]`;
    // The last layer also stores D_L = w ⊙ σ'(a_L), the seed of ∇_z H.
    const seed = k === layers.length - 1 ? [`mem[${q(B.D)}u + o] = mem[${q(w)}u + j4] * d1;`] : [];
    out.push(gemm(`forward${t}_${k}`, {
      M: chunk, N: B.width, K: B.inWidth, a: rowMajor(xIn, B.inWidth), b: rowMajor(B.WT, B.width),
      epilogue: ({ acc }) => [`let a = ${acc}${bias};`, ...activationWgsl(layer.activation, B), ...seed],
    }));
  });
  for (let k = layers.length - 1; k >= 0; k--) {
    const B = layers[k]!, prev = k > 0 ? layers[k - 1]! : undefined;
    out.push(gemm(`backward${t}_${k}`, {
      M: chunk, N: B.inWidth, K: B.width, a: rowMajor(B.D, B.width), b: rowMajor(B.W, B.inWidth),
      epilogue: ({ acc, o }) => (prev
        ? [`let g = ${acc};`, `mem[${q(prev.G)}u + ${o}] = g;`, `mem[${q(prev.D)}u + ${o}] = g * mem[${q(prev.S1)}u + ${o}];`]
        : [`mem[${q(G0)}u + ${o}] = ${acc};`]),
    }));
  }
  return out;
}

/** Tangent, reverse and weight gradients of one network; its bias and output-weight row sums go to `sums`. */
function secondPass({ layers, w, gw }: NetSlots, t: number, chunk: number, Z: number, U0: number, sums: RowSum[]): BatchedKernel[] {
  const out: BatchedKernel[] = [];
  const L = layers.length;
  layers.forEach((B, k) => {
    const uIn = k > 0 ? layers[k - 1]!.U : U0;
    const gNext = k === L - 1 ? `mem[${q(w)}u + j4]` : `mem[${q(B.G)}u + o]`;
    out.push(gemm(`tangent${t}_${k}`, {
      M: chunk, N: B.width, K: B.inWidth, a: rowMajor(uIn, B.inWidth), b: rowMajor(B.WT, B.width),
      epilogue: ({ acc }) => [`let v = ${acc};`, `mem[${q(B.U)}u + o] = v * mem[${q(B.S1)}u + o];`, `mem[${q(B.Ab)}u + o] = v * ${gNext} * mem[${q(B.S2)}u + o];`],
    }));
  });
  for (let k = L - 1; k >= 1; k--) {
    const B = layers[k]!, prev = layers[k - 1]!;
    out.push(gemm(`reverse${t}_${k}`, {
      M: chunk, N: B.inWidth, K: B.width, a: rowMajor(B.Ab, B.width), b: rowMajor(B.W, B.inWidth),
      epilogue: ({ acc, o }) => [`mem[${q(prev.Ab)}u + ${o}] += ${acc} * mem[${q(prev.S1)}u + ${o}];`],
    }));
  }
  layers.forEach((B, k) => {
    const xIn = k > 0 ? layers[k - 1]!.X : Z, uIn = k > 0 ? layers[k - 1]!.U : U0;
    out.push(gemm(`weights${t}_${k}`, {
      M: B.width, N: B.inWidth, K: chunk, a: transposed(B.D, B.width), b: rowMajor(uIn, B.inWidth),
      second: { a: transposed(B.Ab, B.width), b: rowMajor(xIn, B.inWidth) },
      epilogue: ({ acc, o }) => [`if (ctl.first == 1u) { mem[${q(B.gW)}u + ${o}] = ${acc}; } else { mem[${q(B.gW)}u + ${o}] += ${acc}; }`],
    }));
    sums.push({ src: B.Ab, width: B.width, dst: B.gb });
  });
  sums.push({ src: layers[L - 1]!.U, width: layers[L - 1]!.width, dst: gw });
  return out;
}
