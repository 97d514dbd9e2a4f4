/**
 * Register-blocked matrix–matrix products as generated JavaScript over Float64Array: C (rows×N) = or += A·B with
 * A and B read through constant strides (so one emitter covers A·B, A·Bᵀ and Aᵀ·B over row-major storage), an
 * MR×NR block of accumulators held in locals while the k-loop streams both operands, and an elementwise
 * epilogue fused into the store of each block. Loops run over the dimensions (never unrolled over the width),
 * so the function stays small whatever the layer size; only the MR×NR block is unrolled. The rows and N
 * must be multiples of MR and NR (callers pad), K is any length.
 */

/** How a GEMM operand element (row, col) is addressed: array name, base offset expression, row and column strides. */
export interface GemmOperand {
  array: string;
  /** Offset of element (0, 0), a JS expression (e.g. '0'). */
  base?: string;
  rowStride: number;
  colStride: number;
}

/** A product C[i, j] = Σ_k A[i, k]·B[k, j] (+ a second pair A2·B2 over the same k), with its epilogue. */
export interface GemmSpec {
  /** Name of the generated function: `name(rows, K)` with the rows of C (a multiple of MR) at run time. */
  name: string;
  /** Columns of C (a multiple of NR). */
  N: number;
  /** Length of the k-sum: a constant, or omitted to take it from the call's second argument. */
  K?: number;
  a: GemmOperand;
  b: GemmOperand;
  /** Optional second product summed into the same accumulators (Σ_k A[i,k]B[k,j] + A2[i,k]B2[k,j]). */
  second?: { a: GemmOperand; b: GemmOperand };
  /**
   * Statements run for each element of a finished block: `acc` is the sum, `i`, `j` its row and column and
   * `o = i·N + j` its row-major offset in C (callers' arrays have N columns). Default: `C[o] = acc`.
   */
  epilogue?: (names: { acc: string; i: string; j: string; o: string }) => string[];
  /** Register block (default 4×4). */
  mr?: number;
  nr?: number;
}

const at = (op: GemmOperand, row: string, col: string): string => {
  const terms = [op.base ?? '0'];
  if (row !== '0') terms.push(op.rowStride === 1 ? row : `${row} * ${op.rowStride}`);
  if (col !== '0') terms.push(op.colStride === 1 ? col : `${col} * ${op.colStride}`);
  return terms.filter((t) => t !== '0').join(' + ') || '0';
};

/** Lines that load the MR values of A's column k and the NR values of B's row k and accumulate their products. */
function kStep(a: GemmOperand, b: GemmOperand, mr: number, nr: number, tag: string): string[] {
  const lines: string[] = [];
  for (let r = 0; r < mr; r++) lines.push(`const ${tag}a${r} = ${a.array}[pa${tag} + ${r * a.rowStride}];`);
  for (let c = 0; c < nr; c++) lines.push(`const ${tag}b${c} = ${b.array}[pb${tag} + ${c * b.colStride}];`);
  for (let r = 0; r < mr; r++) for (let c = 0; c < nr; c++) lines.push(`c${r}${c} += ${tag}a${r} * ${tag}b${c};`);
  lines.push(`pa${tag} += ${a.colStride}; pb${tag} += ${b.rowStride};`);
  return lines;
}

/**
 * JavaScript source of one GEMM function (a `function name(rows, K) { … }` declaration closing over the operand
 * arrays by name).
 *
 * @example
 * // C (M×8) = A (M×3) · Bᵀ with B stored 8×3 row-major:
 * const src = gemmSource({ name: 'mm', N: 8, K: 3, a: { array: 'A', rowStride: 3, colStride: 1 }, b: { array: 'B', rowStride: 1, colStride: 3 } });
 */
export function gemmSource(spec: GemmSpec): string {
  const mr = spec.mr ?? 4, nr = spec.nr ?? 4;
  const { N } = spec;
  const K = spec.K ?? 'K';
  const pairs: [GemmOperand, GemmOperand, string][] = [[spec.a, spec.b, 'x']];
  if (spec.second) pairs.push([spec.second.a, spec.second.b, 'y']);
  const epilogue = spec.epilogue ?? (({ acc, o }) => [`C[${o}] = ${acc};`]);
  const lines: string[] = [`function ${spec.name}(rows, K) {`, `  for (let i = 0; i < rows; i += ${mr}) {`, `    for (let j = 0; j < ${N}; j += ${nr}) {`];
  for (let r = 0; r < mr; r++) lines.push(`      let ${Array.from({ length: nr }, (_, c) => `c${r}${c} = 0`).join(', ')};`);
  for (const [a, b, tag] of pairs) lines.push(`      let pa${tag} = ${at(a, 'i', '0')}, pb${tag} = ${at(b, '0', 'j')};`);
  lines.push(`      for (let k = 0; k < ${K}; k++) {`);
  for (const [a, b, tag] of pairs) lines.push(...kStep(a, b, mr, nr, tag).map((l) => `        ${l}`));
  lines.push('      }');
  for (let r = 0; r < mr; r++) {
    for (let c = 0; c < nr; c++) {
      const names = { acc: `c${r}${c}`, i: `(i + ${r})`, j: `(j + ${c})`, o: `o${r}${c}` };
      lines.push(`      { const o${r}${c} = (i + ${r}) * ${N} + j + ${c};`, ...epilogue(names).map((l) => `        ${l}`), '      }');
    }
  }
  lines.push('    }', '  }', '}');
  return lines.join('\n');
}
