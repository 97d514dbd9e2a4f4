/**
 * A WGSL GEMM with a fused epilogue, shaped for Mesa's llvmpipe: C = A·B (+ A₂·B₂) over one storage array `mem`
 * read as vec4<f32>, operands at constant offsets with constant strides (all multiples of 4 floats).
 *
 * On llvmpipe a workgroup of 8 invocations is one 8-lane SIMD vector and every storage load whose address
 * differs between lanes — or merely is not a compile-time constant — is a per-lane loop with bounds branches
 * (≈ 3 ns per lane per vec4 load measured, against ≈ 0.1 ns per lane for an FMA; workgroup memory ≈ 1.4 ns
 * plus the staging and barriers). So the kernel maximises the multiply–adds per loaded vec4: each invocation
 * keeps a block of `rows` rows × 4·`columnGroups` columns of C (vec4 accumulators; LLVM spills the excess to
 * the stack, far cheaper than the loads), loads each operand word once per invocation as a vec4, and runs
 * K/4 loop iterations (well under llvmpipe's 65 535 per invocation). B must be row-major (column stride 1);
 * A row-major (vec4 along k) or transposed (vec4 along i). Bindings: 0 `mem`, 1 the uniform `ctl` (four u32
 * words the epilogue may read, e.g. whether to accumulate).
 */
import { DarbouxError } from '../errors.js';

/** An operand at a constant offset of `mem` (in floats): element (r, c) at base + r·rowStride + c·colStride. */
export interface WgslGemmOperand {
  base: number;
  rowStride: number;
  colStride: number;
}

/** One product C[M×N] = A[M×K]·B[K×N] (+ second.a·second.b), and what to do with each run of 4 columns of C. */
export interface WgslGemmSpec {
  M: number;
  N: number;
  K: number;
  a: WgslGemmOperand;
  b: WgslGemmOperand;
  second?: { a: WgslGemmOperand; b: WgslGemmOperand };
  /**
   * WGSL statements for C[i, 4·j4 … 4·j4+3] = `acc` (a vec4<f32>); `o` = (i·N)/4 + j4 is the vec4 index of that
   * run in a row-major M×N tensor; `mem` is array<vec4<f32>>, so other tensors are indexed at base/4 + o.
   */
  epilogue: (at: { acc: string; i: string; j4: string; o: string }) => string[];
}

/**
 * The register block of one invocation: `rows` rows (a multiple of 4) × `columnGroups` runs of 4 columns. The 8
 * lanes of a workgroup take neighbouring column blocks, or with `lanes: 'rows'` neighbouring row blocks (for
 * narrow products, N ≤ 8, where column lanes would idle).
 */
export interface WgslGemmBlock {
  rows: number;
  columnGroups: number;
  lanes?: 'columns' | 'rows';
}

/** Invocations per workgroup: one llvmpipe vector (8 lanes of 256-bit AVX). */
export const GEMM_LANES = 8;

/**
 * The default block of a product: 16 rows × 2 runs of 4 columns per invocation (1 run when N < 64), with the
 * lanes over columns or over rows, whichever leaves fewer idle lanes past the edges of C (N = 200: 8 lanes ×
 * 8 columns overshoot to 256, while lanes over rows cover 25 column blocks exactly); for N ≤ 8 always over rows.
 *
 * @example
 * gemmBlock({ M: 256, N: 200 }); // → { rows: 16, columnGroups: 2, lanes: 'rows' }
 */
export function gemmBlock(spec: { M: number; N: number }): WgslGemmBlock {
  const rows = Math.min(16, Math.ceil(spec.M / 4) * 4);
  if (spec.N <= 8) return { rows: Math.min(8, rows), columnGroups: Math.max(1, spec.N / 4), lanes: 'rows' };
  const columnGroups = spec.N >= 64 ? 2 : 1;
  const covered = (block: WgslGemmBlock) => {
    const [x, y] = gemmWorkgroups(spec, block);
    return block.lanes === 'rows' ? x * 4 * block.columnGroups * y * GEMM_LANES * block.rows : x * 4 * GEMM_LANES * block.columnGroups * y * block.rows;
  };
  const overColumns: WgslGemmBlock = { rows, columnGroups }, overRows: WgslGemmBlock = { rows, columnGroups, lanes: 'rows' };
  return covered(overRows) < covered(overColumns) ? overRows : overColumns;
}

function checkShape(spec: WgslGemmSpec, block: WgslGemmBlock): void {
  const ops = [spec.a, spec.b, ...(spec.second ? [spec.second.a, spec.second.b] : [])];
  const words = [spec.M, spec.N, spec.K, block.rows, ...ops.flatMap((o) => [o.base, o.rowStride === 1 ? 0 : o.rowStride, o.colStride === 1 ? 0 : o.colStride])];
  const bad = words.find((w) => w % 4 !== 0);
  const bRowMajor = [spec.b, ...(spec.second ? [spec.second.b] : [])].every((b) => b.colStride === 1);
  const aVector = [spec.a, ...(spec.second ? [spec.second.a] : [])].every((a) => a.colStride === 1 || a.rowStride === 1);
  if (bad !== undefined || !bRowMajor || !aVector || spec.M === 0 || spec.N === 0) {
    throw new DarbouxError('INTERNAL', `emitWgslGemm: shapes, offsets and strides must be multiples of 4 (got ${bad}), B row-major and A row-major or transposed; pad the tensors`, { M: spec.M, N: spec.N, K: spec.K, block });
  }
}

/** The k loop of one product: per 4 k, the A words of the block's rows and the B runs of its columns. */
function productLoop(spec: WgslGemmSpec, a: WgslGemmOperand, b: WgslGemmOperand, block: WgslGemmBlock): string[] {
  const R = Array.from({ length: block.rows }, (_, r) => r), C = Array.from({ length: block.columnGroups }, (_, c) => c);
  const lines = [`  for (var k4: u32 = 0u; k4 < ${spec.K / 4}u; k4++) {`];
  const rowMajorA = a.colStride === 1;
  // Row-major A: one vec4 per row holds k … k+3.
  if (rowMajorA) for (const r of R) lines.push(`    let a${r} = mem[${a.base / 4}u + ia${r} * ${a.rowStride / 4}u + k4];`);
  for (let kk = 0; kk < 4; kk++) {
    const k = `(k4 * 4u + ${kk}u)`;
    lines.push('    {');
    for (const c of C) lines.push(`      let b${c} = mem[${b.base / 4}u + ${k} * ${b.rowStride / 4}u + jb${c}];`);
    // Transposed A: one vec4 per 4 rows at this k.
    if (!rowMajorA) for (let g = 0; g < block.rows / 4; g++) lines.push(`      let t${g} = mem[${a.base / 4}u + ${k} * ${a.colStride / 4}u + ig${g}];`);
    for (const r of R) {
      const ar = rowMajorA ? `a${r}[${kk}]` : `t${r >> 2}[${r & 3}]`;
      lines.push(`      ${C.map((c) => `c${r}_${c} += ${ar} * b${c};`).join(' ')}`);
    }
    lines.push('    }');
  }
  lines.push('  }');
  return lines;
}

/**
 * The WGSL module of one product, dispatched as `gemmWorkgroups(spec, block)` workgroups of 8 invocations.
 *
 * @example
 * const wgsl = emitWgslGemm({ M: 64, N: 32, K: 8, a: { base: 0, rowStride: 8, colStride: 1 }, b: { base: 512, rowStride: 32, colStride: 1 },
 *   epilogue: ({ acc, o }) => [`mem[500u + ${o}] = ${acc};`] });
 */
export function emitWgslGemm(spec: WgslGemmSpec, block: WgslGemmBlock = gemmBlock(spec)): string {
  checkShape(spec, block);
  const { M, N } = spec;
  const R = Array.from({ length: block.rows }, (_, r) => r), C = Array.from({ length: block.columnGroups }, (_, c) => c);
  const operands = [spec.a, ...(spec.second ? [spec.second.a] : [])];
  return [
    'struct Ctl { first: u32, rows: u32, offset: u32, pad: u32 }',
    '@group(0) @binding(0) var<storage, read_write> mem: array<vec4<f32>>;',
    '@group(0) @binding(1) var<uniform> ctl: Ctl;',
    `@compute @workgroup_size(${GEMM_LANES})`,
    'fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {',
    block.lanes === 'rows'
      ? `  let i0 = (wg.y * ${GEMM_LANES}u + lid.x) * ${block.rows}u; let j0 = wg.x * ${4 * block.columnGroups}u;`
      : `  let i0 = wg.y * ${block.rows}u; let j0 = (wg.x * ${GEMM_LANES}u + lid.x) * ${4 * block.columnGroups}u;`,
    // Loads clamp to the last row / column run (those lanes compute values that are never stored).
    ...C.map((c) => `  let jb${c} = min(j0 + ${4 * c}u, ${N - 4}u) / 4u;`),
    ...(operands.some((a) => a.colStride === 1) ? R.map((r) => `  let ia${r} = min(i0 + ${r}u, ${M - 1}u);`) : []),
    ...(operands.some((a) => a.colStride !== 1) ? R.filter((r) => r % 4 === 0).map((r) => `  let ig${r / 4} = min(i0 + ${r}u, ${M - 4}u) / 4u;`) : []),
    ...R.map((r) => `  ${C.map((c) => `var c${r}_${c} = vec4<f32>(0.0);`).join(' ')}`),
    ...productLoop(spec, spec.a, spec.b, block),
    ...(spec.second ? productLoop(spec, spec.second.a, spec.second.b, block) : []),
    ...C.flatMap((c) => [
      `  if (j0 + ${4 * c}u < ${N}u) {`,
      `    let j4 = (j0 + ${4 * c}u) / 4u;`,
      ...R.flatMap((r) => [
        `    if (i0 + ${r}u < ${M}u) {`,
        `      let i = i0 + ${r}u; let o = i * ${N / 4}u + j4;`,
        ...spec.epilogue({ acc: `c${r}_${c}`, i: 'i', j4: 'j4', o: 'o' }).map((l) => `      ${l}`),
        '    }',
      ]),
      '  }',
    ]),
    '}',
  ].join('\n');
}

/**
 * Workgroups of a product's dispatch: [⌈N / (32·columnGroups)⌉, ⌈M / rows⌉] (lanes over rows: [⌈N / (4·columnGroups)⌉, ⌈M / (8·rows)⌉]).
 *
 * @example
 * gemmWorkgroups({ M: 256, N: 200 }, { rows: 16, columnGroups: 2 }); // → [4, 16]
 */
export function gemmWorkgroups(spec: { M: number; N: number }, block: WgslGemmBlock = gemmBlock(spec)): [number, number] {
  if (block.lanes === 'rows') return [Math.ceil(spec.N / (4 * block.columnGroups)), Math.ceil(spec.M / (GEMM_LANES * block.rows))];
  return [Math.ceil(spec.N / (4 * GEMM_LANES * block.columnGroups)), Math.ceil(spec.M / block.rows)];
}
