/**
 * A tiled WGSL GEMM with a fused epilogue: C = A·B (+ A₂·B₂) over one f32 storage array `mem`, operands at
 * constant offsets with constant row/column strides (a transposed operand is just swapped strides). A workgroup
 * of 8×8 invocations computes a 16×16 tile of C, each invocation a 2×2 register block, stepping through K in
 * tiles of 16 staged in workgroup memory. One invocation runs ⌈K/16⌉·20 loop iterations, so a product stays
 * far below llvmpipe's per-invocation bound (65 535) for K up to ~50 000. Bindings: 0 `mem`, 1 the uniform
 * `ctl` (four u32 words the epilogue may read, e.g. whether to accumulate).
 */

/** Tile edge of C per workgroup, and of K per stage. */
export const GEMM_TILE = 16;

/** An operand at a constant offset of `mem`: element (r, c) at base + r·rowStride + c·colStride. */
export interface WgslGemmOperand {
  base: number;
  rowStride: number;
  colStride: number;
}

/** One product C[M×N] = A[M×K]·B[K×N] (+ second.a·second.b), and what to do with each element of C. */
export interface WgslGemmSpec {
  M: number;
  N: number;
  K: number;
  a: WgslGemmOperand;
  b: WgslGemmOperand;
  second?: { a: WgslGemmOperand; b: WgslGemmOperand };
  /** WGSL statements for C[i, j] = `acc` (i, j: u32 expressions; o = i·N + j). */
  epilogue: (at: { acc: string; i: string; j: string; o: string }) => string[];
}

const at = (op: WgslGemmOperand, r: string, c: string): string => `${op.base}u + ${r} * ${op.rowStride}u + ${c} * ${op.colStride}u`;

function productLoop(a: WgslGemmOperand, b: WgslGemmOperand, M: number, N: number, K: number): string[] {
  const T = GEMM_TILE;
  return [
    `  for (var k0: u32 = 0u; k0 < ${K}u; k0 += ${T}u) {`,
    '    for (var t: u32 = 0u; t < 4u; t++) {',
    '      let e = li + t * 64u;',
    `      let r = e / ${T}u; let q = e % ${T}u;`,
    `      var va: f32 = 0.0; if (row0 + r < ${M}u && k0 + q < ${K}u) { va = mem[${at(a, '(row0 + r)', '(k0 + q)')}]; }`,
    `      tA[e] = va;`,
    `      var vb: f32 = 0.0; if (k0 + r < ${K}u && col0 + q < ${N}u) { vb = mem[${at(b, '(k0 + r)', '(col0 + q)')}]; }`,
    `      tB[e] = vb;`,
    '    }',
    '    workgroupBarrier();',
    `    for (var kk: u32 = 0u; kk < ${T}u; kk++) {`,
    `      let a0 = tA[ly * ${T}u + kk]; let a1 = tA[(ly + 1u) * ${T}u + kk];`,
    `      let b0 = tB[kk * ${T}u + lx]; let b1 = tB[kk * ${T}u + lx + 1u];`,
    '      c00 += a0 * b0; c01 += a0 * b1; c10 += a1 * b0; c11 += a1 * b1;',
    '    }',
    '    workgroupBarrier();',
    '  }',
  ];
}

/**
 * The WGSL module of one product, dispatched as [⌈N/16⌉, ⌈M/16⌉] workgroups (`gemmWorkgroups`).
 *
 * @example
 * const wgsl = emitWgslGemm({ M: 64, N: 32, K: 8, a: { base: 0, rowStride: 8, colStride: 1 }, b: { base: 512, rowStride: 32, colStride: 1 },
 *   epilogue: ({ acc, o }) => [`mem[2000u + ${o}] = ${acc};`] });
 */
export function emitWgslGemm(spec: WgslGemmSpec): string {
  const { M, N, K } = spec;
  const T = GEMM_TILE;
  const store = (di: number, dj: number, c: string) => [
    `  if (row0 + ly + ${di}u < ${M}u && col0 + lx + ${dj}u < ${N}u) {`,
    `    let i = row0 + ly + ${di}u; let j = col0 + lx + ${dj}u; let o = i * ${N}u + j;`,
    ...spec.epilogue({ acc: c, i: 'i', j: 'j', o: 'o' }).map((l) => `    ${l}`),
    '  }',
  ];
  return [
    'struct Ctl { first: u32, rows: u32, offset: u32, pad: u32 }',
    '@group(0) @binding(0) var<storage, read_write> mem: array<f32>;',
    '@group(0) @binding(1) var<uniform> ctl: Ctl;',
    `var<workgroup> tA: array<f32, ${T * T}>;`,
    `var<workgroup> tB: array<f32, ${T * T}>;`,
    '@compute @workgroup_size(8, 8)',
    'fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {',
    `  let row0 = wg.y * ${T}u; let col0 = wg.x * ${T}u;`,
    '  let ly = lid.y * 2u; let lx = lid.x * 2u;',
    '  var c00: f32 = 0.0; var c01: f32 = 0.0; var c10: f32 = 0.0; var c11: f32 = 0.0;',
    ...productLoop(spec.a, spec.b, M, N, K),
    ...(spec.second ? productLoop(spec.second.a, spec.second.b, M, N, K) : []),
    ...store(0, 0, 'c00'), ...store(0, 1, 'c01'), ...store(1, 0, 'c10'), ...store(1, 1, 'c11'),
    '}',
  ].join('\n');
}

/**
 * The register-blocked variant (no workgroup memory, no barriers): each invocation computes 4 rows × 4 columns
 * (columns 8 apart, so neighbouring invocations read neighbouring words) of C straight from `mem`, K loop iterations per invocation; a workgroup of 8×8 invocations covers 32×32. M and N
 * must be multiples of 4. On llvmpipe (CPU threads; barriers switch coroutines) it is the faster one.
 *
 * @example
 * const wgsl = emitWgslGemmRegisters({ M: 64, N: 32, K: 8, a: { base: 0, rowStride: 8, colStride: 1 }, b: { base: 512, rowStride: 32, colStride: 1 },
 *   epilogue: ({ acc, o }) => [`mem[2000u + ${o}] = ${acc};`] });
 */
export function emitWgslGemmRegisters(spec: WgslGemmSpec): string {
  const { M, N, K } = spec;
  const R = [0, 1, 2, 3];
  const loop = (a: WgslGemmOperand, b: WgslGemmOperand) => [
    `  for (var k: u32 = 0u; k < ${K}u; k++) {`,
    ...R.map((r) => `    let a${r} = mem[${at(a, `(i0 + ${r}u)`, 'k')}];`),
    ...R.map((c) => `    let b${c} = mem[${at(b, 'k', `jl${c}`)}];`),
    ...R.map((r) => `    ${R.map((c) => `c${r}${c} += a${r} * b${c};`).join(' ')}`),
    '  }',
  ];
  return [
    'struct Ctl { first: u32, rows: u32, offset: u32, pad: u32 }',
    '@group(0) @binding(0) var<storage, read_write> mem: array<f32>;',
    '@group(0) @binding(1) var<uniform> ctl: Ctl;',
    '@compute @workgroup_size(8, 8)',
    // Columns interleaved (j0 + 8c): neighbouring invocations read neighbouring words of B.
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {',
    '  let i0 = gid.y * 4u; let j0 = wg.x * 32u + lid.x;',
    `  if (i0 >= ${M}u || j0 >= ${N}u) { return; }`,
    ...R.map((c) => `  let jl${c} = min(j0 + ${8 * c}u, ${N - 1}u);`),
    ...R.map((r) => `  ${R.map((c) => `var c${r}${c}: f32 = 0.0;`).join(' ')}`),
    ...loop(spec.a, spec.b),
    ...(spec.second ? loop(spec.second.a, spec.second.b) : []),
    ...R.flatMap((r) => R.flatMap((c) => [
      `  if (j0 + ${8 * c}u < ${N}u) { let i = i0 + ${r}u; let j = j0 + ${8 * c}u; let o = i * ${N}u + j;`,
      ...spec.epilogue({ acc: `c${r}${c}`, i: 'i', j: 'j', o: 'o' }).map((l) => `    ${l}`),
      '  }',
    ])),
    '}',
  ].join('\n');
}

/**
 * Workgroups of a product's dispatch: [⌈N/16⌉, ⌈M/16⌉].
 *
 * @example
 * gemmWorkgroups({ M: 64, N: 200 }); // → [13, 4]; the register variant: gemmWorkgroups(spec, 32)
 */
export function gemmWorkgroups(spec: { M: number; N: number }, tile = GEMM_TILE): [number, number] {
  return [Math.ceil(spec.N / tile), Math.ceil(spec.M / tile)];
}
