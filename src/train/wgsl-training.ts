/**
 * WGSL for training on the device: a per-sample kernel generated from the gradient program with the shared
 * lowering (one invocation per minibatch sample, writing its loss and parameter gradient as one row), a
 * column-sum kernel reducing the rows over the batch (one invocation per output column), and a one-workgroup
 * Adam kernel (gradient norm by a workgroup tree reduction, clipping, weight decay, moment update) that keeps
 * parameters and moments resident. Each stage binds at most 4 storage buffers and 1 uniform (the
 * compatibility level of llvmpipe).
 */
import { WORKGROUP_SIZE } from '../codegen/kernel-words.js';
import { wgslHoisted } from '../codegen/wgsl-kernel.js';
import { Lowering } from '../codegen/lowering.js';
import { bindTrainingInputs } from './bind-inputs.js';
import { gradientParts, offsetPlus, partRoots, writeElements, writeGradient } from '../codegen/gradient-writes.js';
import type { GradientProgram } from './gradient-program.js';
import { StorageScratch } from './wgsl-scratch.js';

/** Words of the per-sample kernel's uniform: samples in this dispatch, first row of the index buffer. */
export const SAMPLE_CONTROL_WORDS = 4;

/**
 * The per-sample kernel. Bindings: 0 packed sample records (f32, `stride` per sample), 1 θ, 2 sample indices
 * (u32), 3 output: `count` rows of `width` = 1 + P floats (loss, then ∂loss/∂θ in layout order; 1 without
 * gradients), interleaved (column c of sample b at c·count + b) and reduced per workgroup into the group's first
 * row, followed by `scratch` floats per sample for intermediate tensors (interleaved), 4 the uniform
 * { count, rowOffset }.
 *
 * @example
 * const { wgsl, width, scratch } = emitSampleKernel(program);
 */
export function emitSampleKernel(program: GradientProgram, options: { gradients?: boolean } = {}): { wgsl: string; width: number; scratch: number; loopIterations: number } {
  const withGradients = options.gradients ?? true;
  const parts = withGradients ? program.gradients.map(gradientParts) : [];
  const outputs = [program.loss, ...partRoots(parts)];
  const width = withGradients ? 1 + program.layout.total : 1;
  const scratch = new StorageScratch();
  const lowering = new Lowering(scratch.target, { prefix: 'v' });
  const prologue = bindTrainingInputs(lowering, program, { data: 'dData', base: 'base', theta: 'dParams' });
  lowering.baseIndent = 2;
  const values = lowering.emit(outputs);
  // Rows are stored interleaved (column c of sample b at c·count + b), so neighbouring invocations write
  // neighbouring words and the group reduction reads contiguous runs.
  writeElements(lowering, program.loss, values[0]!, (_k, code) => `dOut[ib] = ${code}`);
  parts.forEach((part, j) => {
    const at = 1 + program.layout.offsets[j]!;
    writeGradient(lowering, part, (k) => `dOut[(${offsetPlus(at, k)}) * cStride + ib]`, false);
  });
  const { moduleScope } = wgslHoisted(lowering);
  const wgsl = [
    'struct Control { count: u32, rowOffset: u32, pad0: u32, pad1: u32 }',
    '@group(0) @binding(0) var<storage, read> dData: array<f32>;',
    '@group(0) @binding(1) var<storage, read> dParams: array<f32>;',
    '@group(0) @binding(2) var<storage, read> dRows: array<u32>;',
    '@group(0) @binding(3) var<storage, read_write> dOut: array<f32>;',
    '@group(0) @binding(4) var<uniform> dControl: Control;',
    ...moduleScope,
    '',
    `@compute @workgroup_size(${WORKGROUP_SIZE})`,
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) li: u32) {',
    '  let b = gid.x;',
    // No early return: the workgroup reduction below needs every invocation at its barrier.
    '  if (b < dControl.count) {',
    `    let base = i32(dRows[dControl.rowOffset + b]) * ${program.graph.stride};`,
    '    let ib = i32(b);',
    '    let cStride = i32(dControl.count);',
    ...(scratch.size > 0 ? [`    let sStride = cStride;`, `    let sBase = sStride * ${width} + ib;`] : []),
    ...prologue.map((l) => `    ${l}`),
    ...lowering.lines.map((l) => scratch.rewrite(l, 'dOut', 'sBase', 'sStride')),
    '  }',
    // The workgroup sums its rows into its first row, inside the kernel: invocation li adds up columns
    // li, li + 64, … over the group's other rows. The host-side column sum then reads one row per workgroup.
    '  storageBarrier();',
    `  let first = (b / ${WORKGROUP_SIZE}u) * ${WORKGROUP_SIZE}u;`,
    `  let rowsHere = min(${WORKGROUP_SIZE}u, max(dControl.count, first) - first);`,
    `  for (var k = li; k < ${width}u; k += ${WORKGROUP_SIZE}u) {`,
    '    var acc: f32 = 0.0;',
    '    for (var r = 1u; r < rowsHere; r++) { acc += dOut[k * dControl.count + first + r]; }',
    '    if (rowsHere > 0u) { dOut[k * dControl.count + first] += acc; }',
    '  }',
    '}',
    '',
  ].join('\n');
  // Loop iterations of one invocation (software adapters bound them): the lowered body and the group reduction.
  const loopIterations = lowering.loopIterations + Math.ceil(width / WORKGROUP_SIZE) * WORKGROUP_SIZE;
  return { wgsl, width, scratch: scratch.size, loopIterations };
}

/**
 * Column sums of `count` rows of `width` floats (the per-workgroup partial rows), element k of row b at
 * b·rowStride + k·colStride: out[outOffset + k] (=|+=) Σ_b in[b·rowStride + k·colStride]. Bindings: 0 rows,
 * 1 output, 2 the uniform { count, width, outOffset, accumulate, rowStride, colStride }.
 */
export const COLUMN_SUM_WGSL = `
struct Control { count: u32, width: u32, outOffset: u32, accumulate: u32, rowStride: u32, colStride: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<storage, read> dRowsIn: array<f32>;
@group(0) @binding(1) var<storage, read_write> dSum: array<f32>;
@group(0) @binding(2) var<uniform> dControl: Control;

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = gid.x;
  if (k >= dControl.width) { return; }
  var acc: f32 = 0.0;
  for (var b: u32 = 0u; b < dControl.count; b++) {
    acc += dRowsIn[b * dControl.rowStride + k * dControl.colStride];
  }
  let at = dControl.outOffset + k;
  if (dControl.accumulate != 0u) { dSum[at] += acc; } else { dSum[at] = acc; }
}
`;

/** Layout of the Adam kernel's uniform (u32 then f32 words, in order). */
export const ADAM_CONTROL_WORDS = ['count', 'params', 'historyAt', 'pad', 'stepSize', 'beta1', 'beta2', 'eps', 'bc2', 'shrink', 'l2', 'clipNorm'] as const;

/**
 * One Adam step in one workgroup. Bindings: 0 the column sums (Σ loss, then Σ gradient), 1 θ, 2 moments
 * (m then v, 2P), 3 history (loss and gradient norm per step), 4 the uniform (`ADAM_CONTROL_WORDS`):
 * g = clip(Σg / count) + l2·θ; m, v updated; θ ← θ·shrink − stepSize·m / (√v / bc2 + ε).
 */
export const ADAM_WGSL = `
struct Control {
  count: u32, params: u32, historyAt: u32, pad: u32,
  stepSize: f32, beta1: f32, beta2: f32, eps: f32,
  bc2: f32, shrink: f32, l2: f32, clipNorm: f32,
}
@group(0) @binding(0) var<storage, read> dSum: array<f32>;
@group(0) @binding(1) var<storage, read_write> dParams: array<f32>;
@group(0) @binding(2) var<storage, read_write> dMoments: array<f32>;
@group(0) @binding(3) var<storage, read_write> dHistory: array<f32>;
@group(0) @binding(4) var<uniform> dControl: Control;
var<workgroup> wPartial: array<f32, ${WORKGROUP_SIZE}>;

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(local_invocation_index) li: u32) {
  let n = dControl.params;
  let inv = 1.0 / f32(dControl.count);
  var acc: f32 = 0.0;
  for (var j: u32 = li; j < n; j += ${WORKGROUP_SIZE}u) {
    let g = dSum[1u + j] * inv;
    acc += g * g;
  }
  wPartial[li] = acc;
  workgroupBarrier();
  for (var s: u32 = ${WORKGROUP_SIZE / 2}u; s > 0u; s = s >> 1u) {
    if (li < s) { wPartial[li] += wPartial[li + s]; }
    workgroupBarrier();
  }
  let norm = sqrt(wPartial[0]);
  var clip: f32 = 1.0;
  if (dControl.clipNorm > 0.0) {
    let coef = dControl.clipNorm / (norm + 1e-6);
    if (coef < 1.0) { clip = coef; }
  }
  for (var j: u32 = li; j < n; j += ${WORKGROUP_SIZE}u) {
    let theta = dParams[j];
    let g = dSum[1u + j] * inv * clip + dControl.l2 * theta;
    let m = dControl.beta1 * dMoments[j] + (1.0 - dControl.beta1) * g;
    let v = dControl.beta2 * dMoments[n + j] + (1.0 - dControl.beta2) * g * g;
    dMoments[j] = m;
    dMoments[n + j] = v;
    dParams[j] = theta * dControl.shrink - dControl.stepSize * m / (sqrt(v) / dControl.bc2 + dControl.eps);
  }
  if (li == 0u) {
    dHistory[2u * dControl.historyAt] = dSum[0] * inv;
    dHistory[2u * dControl.historyAt + 1u] = norm;
  }
}
`;
