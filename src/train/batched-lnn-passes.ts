/**
 * The memory plan and the main-loop lines of the batched LNN acceleration-loss gradient (batched-lnn.ts has the
 * algebra): constant offsets of every buffer in one Float64Array, the elementwise loops between the GEMMs, and the
 * per-sample dof × dof solves, as generated JavaScript with the widths and the dof as constants.
 */
import type { GemmSpec } from '../codegen/gemm-js.js';
import type { BatchedActivation } from './batched-match.js';
import type { BatchedLnnSpec } from './batched-lnn-match.js';
import { invariantLines } from './batched-lnn-invariant.js';

/** Tangent rows (samples × dof) per chunk: the chunk's buffers stay in cache while its GEMMs run. */
const TANGENT_ROWS = 128;

const pad4 = (n: number): number => (n + 3) & ~3;

/** Samples per chunk for `dof` velocity directions (a multiple of 4). @example lnnChunk(3) // 40 */
export function lnnChunk(dof: number): number {
  return Math.max(4, Math.floor(TANGENT_ROWS / dof / 4) * 4);
}

/** A GEMM of the lowering: C (rows × N, row-major) = or += A·B (+ A2·B2), called as `name(rows, K)`. */
export interface Product extends GemmSpec {
  C: number;
  accumulate?: boolean;
}

/** Offsets of one layer's buffers: parameters, per-sample (×chunk) and per-direction (×chunk·dof) rows. */
export interface LnnLayerBuffers {
  width: number;
  inWidth: number;
  activation: BatchedActivation;
  W: number; WT: number; b: number; gW: number; gb: number;
  X: number; S1: number; S2: number; S3: number; G: number; D: number; Gb: number; Ab: number;
  At: number; Xt: number; Gt: number; Dt: number; Gtb: number; Atb: number;
}

/** The whole memory plan. */
export interface LnnBuffers {
  dof: number;
  chunk: number;
  /** Padded input width of the MLP (z = [q; v], or the invariants φ). */
  n0: number;
  Z: number; Zt: number; G0: number; Gt0: number; Gb0: number; U: number;
  /** State-space (2·dof wide) gradients and adjoints, and J, ∂J/∂v per sample: invariant networks only (else 0). */
  GZ: number; GtZ: number; GbZ: number; UZ: number; TJ: number; TdJ: number;
  Db: number; Dtb: number; Xb: number; Xtb: number;
  layers: LnnLayerBuffers[];
  w: number; gw: number;
  gradStart: number; gradEnd: number;
  size: number;
}

/**
 * Lays out every buffer of the batched LNN gradient of `spec`.
 *
 * @example
 * const b = lnnLayerBuffers(spec); b.size // f64 slots
 */
export function lnnLayerBuffers(spec: BatchedLnnSpec): LnnBuffers {
  let size = 0;
  const take = (n: number) => ((size += n), size - n);
  const d = spec.dof, m = lnnChunk(d), md = m * d, n0 = pad4(spec.invariant?.inputs ?? 2 * d);
  const widths = spec.network.layers.map((l) => pad4(l.width));
  const widest = Math.max(n0, ...widths);
  const io = {
    Z: take(m * n0), Zt: take(md * n0), G0: take(m * n0), Gt0: take(md * n0), Gb0: take(m * n0), U: take(md * n0),
    Db: take(m * widest), Dtb: take(md * widest), Xb: take(m * widest), Xtb: take(md * widest),
  };
  const k = spec.invariant?.inputs ?? 0, nz = 2 * d;
  const state = spec.invariant
    ? { GZ: take(m * nz), GtZ: take(md * nz), GbZ: take(m * nz), UZ: take(md * nz), TJ: take(m * k * nz), TdJ: take(md * k * nz) }
    : { GZ: 0, GtZ: 0, GbZ: 0, UZ: 0, TJ: 0, TdJ: 0 };
  const gradStart = size;
  const grads = widths.map((w, k) => ({ gW: take(w * (k > 0 ? widths[k - 1]! : n0)), gb: take(w) }));
  const gw = take(widths.at(-1)!);
  const gradEnd = size;
  const layers = widths.map((w, k) => {
    const inWidth = k > 0 ? widths[k - 1]! : n0;
    const rows = (r: number) => take(r * w);
    return {
      width: w, inWidth, activation: spec.network.layers[k]!.activation, ...grads[k]!,
      W: take(w * inWidth), WT: take(w * inWidth), b: take(w),
      X: rows(m), S1: rows(m), S2: rows(m), S3: rows(m), G: rows(m), D: rows(m), Gb: rows(m), Ab: rows(m),
      At: rows(md), Xt: rows(md), Gt: rows(md), Dt: rows(md), Gtb: rows(md), Atb: rows(md),
    };
  });
  const w = take(widths.at(-1)!);
  return { dof: d, chunk: m, n0, ...io, ...state, layers, w, gw, gradStart, gradEnd, size };
}

/** σ, σ′, σ″, σ‴ of `a` into X, S1, S2, S3 at offset `o`. */
function activationLines(activation: BatchedActivation, B: LnnLayerBuffers): string[] {
  const store = (x: string, d1: string, d2: string, d3: string) => [`mem[${B.X} + o] = ${x}; mem[${B.S1} + o] = ${d1}; mem[${B.S2} + o] = ${d2}; mem[${B.S3} + o] = ${d3};`];
  switch (activation) {
    case 'tanh':
      return ['const y = Math.tanh(a), d1 = 1 - y * y, d2 = -2 * y * d1;', ...store('y', 'd1', 'd2', '-2 * (d1 * d1 + y * d2)')];
    case 'sigmoid':
      return ['const y = 1 / (1 + Math.exp(-a)), d1 = y * (1 - y), d2 = d1 * (1 - 2 * y);', ...store('y', 'd1', 'd2', 'd2 * (1 - 2 * y) - 2 * d1 * d1')];
    case 'softplus':
      return ['const e = 1 / (1 + Math.exp(-a)), d2 = e * (1 - e);', ...store('Math.max(a, 0) + Math.log1p(Math.exp(-Math.abs(a)))', 'e', 'd2', 'd2 * (1 - 2 * e)')];
    case 'sin':
      return ['const y = Math.sin(a), z = Math.cos(a);', ...store('y', 'z', '-y', '-z')];
  }
}

/** `for s < m, c < width` over per-sample rows, with `o` the offset and `body` lines. */
const perSample = (width: number, body: string[]): string[] => [
  `for (let s = 0; s < m; s++) for (let c = 0; c < ${width}; c++) {`, `  const o = s * ${width} + c;`, ...body.map((l) => `  ${l}`), '}',
];

/** `for s < m, j < dof, c < width` with `o` the per-sample offset and `r` the per-direction one. */
const perDirection = (width: number, dof: number, body: string[]): string[] => [
  `for (let s = 0; s < m; s++) for (let j = 0; j < ${dof}; j++) for (let c = 0; c < ${width}; c++) {`,
  `  const o = s * ${width} + c, r = (s * ${dof} + j) * ${width} + c;`, ...body.map((l) => `  ${l}`), '}',
];

/** Forward, ∇_z L, and their tangents along the dof velocity directions. */
function forwardLines(b: LnnBuffers): string[] {
  const L = b.layers.length, d = b.dof, last = b.layers[L - 1]!;
  const lines: string[] = [];
  b.layers.forEach((B, k) => {
    lines.push(`forward_${k}(m, ${B.inWidth});`, ...perSample(B.width, [`const a = mem[${B.X} + o] + mem[${B.b} + c];`, ...activationLines(B.activation, B)]));
  });
  lines.push(...perSample(last.width, [`mem[${last.D} + o] = mem[${b.w} + c] * mem[${last.S1} + o];`]));
  for (let k = L - 1; k >= 0; k--) {
    lines.push(`backward_${k}(m, ${b.layers[k]!.width});`);
    const P = b.layers[k - 1];
    if (P) lines.push(...perSample(P.width, [`mem[${P.D} + o] = mem[${P.G} + o] * mem[${P.S1} + o];`]));
  }
  b.layers.forEach((B, k) => {
    lines.push(`tangent_${k}(md, ${B.inWidth});`);
    if (k < L - 1) lines.push(...perDirection(B.width, d, [`mem[${B.Xt} + r] = mem[${B.S1} + o] * mem[${B.At} + r];`]));
  });
  lines.push(...perDirection(last.width, d, [`mem[${last.Dt} + r] = mem[${b.w} + c] * mem[${last.S2} + o] * mem[${last.At} + r];`]));
  for (let k = L - 1; k >= 0; k--) {
    lines.push(`tangentBackward_${k}(md, ${b.layers[k]!.width});`);
    const P = b.layers[k - 1];
    if (P) lines.push(...perDirection(P.width, d, [`mem[${P.Dt} + r] = mem[${P.Gt} + r] * mem[${P.S1} + o] + mem[${P.G} + o] * mem[${P.S2} + o] * mem[${P.At} + r];`]));
  }
  return lines;
}

/** Per sample: M = ∂²L/∂v², rhs, a = M⁻¹rhs (pivoted LU), the loss, r̄ = M⁻ᵀā and the adjoints Ḡ_0, Ġ̄_0. */
function solveLines(spec: BatchedLnnSpec, b: LnnBuffers): string[] {
  const d = spec.dof, { columns, stride } = spec;
  // Invariant networks solve in the state space (2·dof wide buffers); unconstrained ones read the MLP's z buffers.
  const [G0, Gt0, Gb0, U, n0] = spec.invariant ? [b.GZ, b.GtZ, b.GbZ, b.UZ, 2 * d] : [b.G0, b.Gt0, b.Gb0, b.U, b.n0];
  return [
    'for (let s = 0; s < m; s++) {',
    `  const gb = ${Gb0} + s * ${n0}, ub = ${U} + s * ${d * n0};`,
    `  for (let i = 0; i < ${n0}; i++) mem[gb + i] = 0;`,
    `  if (s >= n) { for (let i = 0; i < ${d * n0}; i++) mem[ub + i] = 0; continue; }`,
    `  const base = rows[s0 + s] * ${stride}, g = ${G0} + s * ${n0}, t = ${Gt0} + s * ${d * n0};`,
    `  for (let i = 0; i < ${d}; i++) {`,
    '    let r = mem[g + i];',
    `    for (let k = 0; k < ${d}; k++) { LU[i * ${d} + k] = mem[t + k * ${n0} + ${d} + i]; r -= mem[t + i * ${n0} + k] * data[base + ${columns.v} + k]; }`,
    '    RHS[i] = r;',
    '  }',
    `  for (let k = 0; k < ${d}; k++) {`,
    `    let p = k, big = Math.abs(LU[k * ${d + 1}]);`,
    `    for (let i = k + 1; i < ${d}; i++) { const x = Math.abs(LU[i * ${d} + k]); if (x > big) { big = x; p = i; } }`,
    '    PIV[k] = p;',
    `    if (p !== k) for (let c = 0; c < ${d}; c++) { const x = LU[k * ${d} + c]; LU[k * ${d} + c] = LU[p * ${d} + c]; LU[p * ${d} + c] = x; }`,
    `    const inv = 1 / LU[k * ${d + 1}];`,
    `    for (let i = k + 1; i < ${d}; i++) { const f = (LU[i * ${d} + k] *= inv); for (let c = k + 1; c < ${d}; c++) LU[i * ${d} + c] -= f * LU[k * ${d} + c]; }`,
    '  }',
    `  for (let k = 0; k < ${d}; k++) { const p = PIV[k]; if (p !== k) { const x = RHS[k]; RHS[k] = RHS[p]; RHS[p] = x; } }`,
    `  for (let i = 0; i < ${d}; i++) for (let k = 0; k < i; k++) RHS[i] -= LU[i * ${d} + k] * RHS[k];`,
    `  for (let i = ${d - 1}; i >= 0; i--) { for (let k = i + 1; k < ${d}; k++) RHS[i] -= LU[i * ${d} + k] * RHS[k]; RHS[i] /= LU[i * ${d + 1}]; }`,
    `  for (let i = 0; i < ${d}; i++) { const e = RHS[i] - data[base + ${columns.a} + i]; loss += e * e / ${d}; ACC[i] = 2 * e / ${d}; }`,
    // Mᵀ y = ā: Uᵀ z = ā (forward), Lᵀ x = z (backward), y = Pᵀ x (the swaps undone in reverse order).
    `  for (let i = 0; i < ${d}; i++) { let z = ACC[i]; for (let k = 0; k < i; k++) z -= LU[k * ${d} + i] * RB[k]; RB[i] = z / LU[i * ${d + 1}]; }`,
    `  for (let i = ${d - 1}; i >= 0; i--) for (let k = i + 1; k < ${d}; k++) RB[i] -= LU[k * ${d} + i] * RB[k];`,
    `  for (let k = ${d - 1}; k >= 0; k--) { const p = PIV[k]; if (p !== k) { const x = RB[k]; RB[k] = RB[p]; RB[p] = x; } }`,
    `  for (let i = 0; i < ${d}; i++) mem[gb + i] = RB[i];`,
    `  for (let j = 0; j < ${d}; j++) {`,
    `    const row = ub + j * ${n0};`,
    `    for (let k = 0; k < ${d}; k++) { mem[row + k] = -RB[j] * data[base + ${columns.v} + k]; mem[row + ${d} + k] = -RB[k] * RHS[j]; }`,
    `    for (let k = ${2 * d}; k < ${n0}; k++) mem[row + k] = 0;`,
    '  }',
    '}',
  ];
}

/** Reverse of both backward passes (layers upward), then of both forward passes with the weight gradients (downward). */
function reverseLines(b: LnnBuffers): string[] {
  const L = b.layers.length, d = b.dof;
  const lines: string[] = [];
  b.layers.forEach((B, k) => {
    const last = k === L - 1;
    lines.push(`reverseTangentBackward_${k}(md, ${B.inWidth});`, `reverseBackward_${k}(m, ${B.inWidth});`);
    lines.push(
      `for (let s = 0; s < m; s++) for (let c = 0; c < ${B.width}; c++) {`,
      `  const o = s * ${B.width} + c, s1 = mem[${B.S1} + o], s2 = mem[${B.S2} + o], s3 = mem[${B.S3} + o], g = ${last ? `mem[${b.w} + c]` : `mem[${B.G} + o]`}, db = mem[${b.Db} + o];`,
      '  let gbar = db * s1, abar = db * g * s2;',
      `  for (let j = 0; j < ${d}; j++) {`,
      `    const r = (s * ${d} + j) * ${B.width} + c, t = mem[${b.Dtb} + r], at = mem[${B.At} + r];`,
      ...(last ? [] : [`    mem[${B.Gtb} + r] = t * s1;`]),
      `    mem[${B.Atb} + r] = t * g * s2;`,
      '    gbar += t * s2 * at;',
      `    abar += t * (${last ? '' : `mem[${B.Gt} + r] * s2 + `}g * s3 * at);`,
      '  }',
      `  ${last ? `mem[${b.gw} + c] += gbar;` : `mem[${B.Gb} + o] = gbar;`}`,
      `  mem[${B.Ab} + o] = abar;`,
      '}',
    );
  });
  for (let k = L - 1; k >= 0; k--) {
    const B = b.layers[k]!, P = b.layers[k - 1];
    lines.push(`weightsTangent_${k}(${B.width}, md);`, `weights_${k}(${B.width}, m);`);
    lines.push(`for (let s = 0; s < m; s++) for (let c = 0; c < ${B.width}; c++) mem[${B.gb} + c] += mem[${B.Ab} + s * ${B.width} + c];`);
    if (!P) continue;
    lines.push(`reverseTangent_${k}(md, ${B.width});`, `reverseForward_${k}(m, ${B.width});`);
    lines.push(
      `for (let s = 0; s < m; s++) for (let c = 0; c < ${P.width}; c++) {`,
      `  const o = s * ${P.width} + c, s1 = mem[${P.S1} + o], s2 = mem[${P.S2} + o];`,
      `  let abar = mem[${b.Xb} + o] * s1;`,
      `  for (let j = 0; j < ${d}; j++) { const r = (s * ${d} + j) * ${P.width} + c, e = mem[${b.Xtb} + r]; mem[${P.Atb} + r] += e * s1; abar += e * s2 * mem[${P.At} + r]; }`,
      `  mem[${P.Ab} + o] += abar;`,
      '}',
    );
  }
  return lines;
}

/** Copies θ into the padded weights (unpack) or adds the padded gradients into out (scatter). */
function parameterMoves(spec: BatchedLnnSpec, b: LnnBuffers, dir: 'unpack' | 'scatter'): string[] {
  const lines: string[] = [];
  const move = (theta: string, buf: string) => (dir === 'unpack' ? `mem[${buf}] = theta[${theta}];` : `out[1 + ${theta}] += mem[${buf}];`);
  spec.network.layers.forEach((layer, k) => {
    const B = b.layers[k]!;
    const [W, bias] = dir === 'unpack' ? [B.W, B.b] : [B.gW, B.gb];
    for (const blk of layer.weights) {
      lines.push(`for (let r = 0; r < ${blk.rows}; r++) for (let c = 0; c < ${blk.cols}; c++) ${move(`${blk.offset} + r * ${blk.cols} + c`, `${W} + r * ${B.inWidth} + ${blk.inputColumn} + c`)}`);
    }
    if (layer.bias !== undefined) lines.push(`for (let r = 0; r < ${layer.width}; r++) ${move(`${layer.bias} + r`, `${bias} + r`)}`);
    if (dir === 'unpack') lines.push(`for (let r = 0; r < ${B.width}; r++) for (let c = 0; c < ${B.inWidth}; c++) mem[${B.WT} + c * ${B.width} + r] = mem[${B.W} + r * ${B.inWidth} + c];`);
  });
  const width = spec.network.layers.at(-1)!.width;
  lines.push(`for (let r = 0; r < ${width}; r++) ${move(`${spec.network.out} + r`, `${dir === 'unpack' ? b.w : b.gw} + r`)}`);
  return lines;
}

/**
 * The body of the batch function: unpack θ, then per chunk of samples load z = [q; v], the forward and tangent
 * passes, the solves, the reverse passes; then the loss and the scattered gradients into `out`.
 *
 * @example
 * const body = lnnPassLines(spec, lnnLayerBuffers(spec));
 */
export function lnnPassLines(spec: BatchedLnnSpec, b: LnnBuffers): string[] {
  const d = spec.dof, n0 = b.n0, { columns, stride } = spec;
  const load = [
    'for (let s = 0; s < m; s++) {',
    `  const zb = ${b.Z} + s * ${n0};`,
    `  if (s < n) { const base = rows[s0 + s] * ${stride}; for (let i = 0; i < ${d}; i++) { mem[zb + i] = data[base + ${columns.q} + i]; mem[zb + ${d} + i] = data[base + ${columns.v} + i]; } }`,
    `  else for (let i = 0; i < ${n0}; i++) mem[zb + i] = 0;`,
    '}',
  ];
  const invariant = spec.invariant ? invariantLines(spec, b) : undefined;
  return [
    'out.fill(0);',
    ...parameterMoves(spec, b, 'unpack'),
    `mem.fill(0, ${b.gradStart}, ${b.gradEnd});`,
    // Ż: row (s, j) is the unit vector of v_j (invariant networks: φ̇_j, per sample in the chunk loop).
    ...(invariant ? [] : [
      `mem.fill(0, ${b.Zt}, ${b.Zt + b.chunk * d * n0});`,
      `for (let s = 0; s < ${b.chunk}; s++) for (let j = 0; j < ${d}; j++) mem[${b.Zt} + (s * ${d} + j) * ${n0} + ${d} + j] = 1;`,
    ]),
    'let loss = 0;',
    `for (let s0 = 0; s0 < count; s0 += ${b.chunk}) {`,
    `  const n = Math.min(${b.chunk}, count - s0), m = (n + 3) & ~3, md = m * ${d};`,
    ...[
      ...(invariant ? invariant.load : load), ...forwardLines(b), ...(invariant?.toState ?? []),
      ...solveLines(spec, b), ...(invariant?.fromState ?? []), ...reverseLines(b),
    ].map((l) => `  ${l}`),
    '}',
    'out[0] = loss;',
    ...parameterMoves(spec, b, 'scatter'),
  ];
}
