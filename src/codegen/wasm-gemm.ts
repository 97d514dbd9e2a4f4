/**
 * A WebAssembly SIMD (f64x2) matrix–matrix product, assembled byte by byte (no toolchain): one exported function
 *
 *   gemm(c, a, aRow, aCol, b, bRow, rows, n, k, accumulate)
 *
 * computing C[i, j] (=|+=) Σ_k A[i, k]·B[k, j] for C row-major (rows × n, n a multiple of 4, rows a multiple of
 * 4, k a multiple of 4), A read through byte strides (aRow, aCol) and B through a byte row stride with contiguous columns. Offsets
 * and strides are in bytes into the imported memory `env.mem`. The 4×4 register block holds eight f64x2
 * accumulators; each k step splats four A values and loads two B vectors.
 */

import { i32Const as i32, localGet as get, localSet as set, memarg, section, simd, uleb, wasmName as name } from './wasm-binary.js';

// Opcodes.
const I32_ADD = 0x6a, I32_MUL = 0x6c, I32_LT_S = 0x48, I32_SUB = 0x6b;
const V128_LOAD = 0x00, V128_STORE = 0x0b, F64X2_SPLAT = 0x14, F64X2_ADD = 240, F64X2_MUL = 242;

// Parameters (i32) and locals.
const [C, A, AROW, ACOL, B, BROW, ROWS, N, K, ACC] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const [I, J, KK, PA, PB, PC, CROW, AROW2, AROW3] = [10, 11, 12, 13, 14, 15, 16, 17, 18]; // i32 locals
const ACCS = 19; // 8 v128 accumulators: ACCS + 2·r + v
const AV = 27, BV = 28; // v128 temporaries (a splat, b0; b1 at BV + 1)

/** One k step: load B[k, j … j+3] as two vectors, splat A[i+r, k], accumulate, advance the pointers. */
function kStep(): number[] {
  const code: number[] = [...get(PB), ...simd(V128_LOAD, ...memarg(0)), ...set(BV), ...get(PB), ...simd(V128_LOAD, ...memarg(16)), ...set(BV + 1)];
  for (let r = 0; r < 4; r++) {
    code.push(...get(PA));
    if (r > 0) code.push(...get([0, AROW, AROW2, AROW3][r]!), I32_ADD);
    code.push(0x2b, ...memarg(0), ...simd(F64X2_SPLAT), ...set(AV));
    for (let v = 0; v < 2; v++) {
      const acc = ACCS + 2 * r + v;
      code.push(...get(acc), ...get(AV), ...get(BV + v), ...simd(F64X2_MUL), ...simd(F64X2_ADD), ...set(acc));
    }
  }
  code.push(...get(PA), ...get(ACOL), I32_ADD, ...set(PA), ...get(PB), ...get(BROW), I32_ADD, ...set(PB));
  return code;
}

/** Stores (or adds into) the 4×4 block of C at PC, rows CROW bytes apart. */
function storeBlock(): number[] {
  const code: number[] = [];
  for (let r = 0; r < 4; r++) {
    for (let v = 0; v < 2; v++) {
      const acc = ACCS + 2 * r + v;
      // if (accumulate) acc += C[…]
      code.push(...get(ACC), 0x04, 0x40, ...get(acc), ...get(PC), ...simd(V128_LOAD, ...memarg(16 * v)), ...simd(F64X2_ADD), ...set(acc), 0x0b);
      code.push(...get(PC), ...get(acc), ...simd(V128_STORE, ...memarg(16 * v)));
    }
    code.push(...get(PC), ...get(CROW), I32_ADD, ...set(PC));
  }
  return code;
}

function gemmBody(): number[] {
  const zero = simd(0x0c, ...new Array(16).fill(0));
  const code: number[] = [...get(N), ...i32(8), I32_MUL, ...set(CROW), ...i32(0), ...set(I)];
  code.push(...get(AROW), ...i32(2), I32_MUL, ...set(AROW2), ...get(AROW), ...i32(3), I32_MUL, ...set(AROW3));
  code.push(0x03, 0x40); // loop over i
  code.push(...i32(0), ...set(J), 0x03, 0x40); // loop over j
  for (let t = 0; t < 8; t++) code.push(...zero, ...set(ACCS + t));
  code.push(...get(A), ...get(I), ...get(AROW), I32_MUL, I32_ADD, ...set(PA));
  code.push(...get(B), ...get(J), ...i32(8), I32_MUL, I32_ADD, ...set(PB));
  // k runs four steps per iteration (K is a multiple of 4), then br_if while KK ≠ 0.
  code.push(...get(K), ...set(KK), 0x03, 0x40, ...kStep(), ...kStep(), ...kStep(), ...kStep(), ...get(KK), ...i32(4), I32_SUB, 0x22, ...uleb(KK), 0x0d, 0x00, 0x0b);
  code.push(...get(C), ...get(I), ...get(CROW), I32_MUL, I32_ADD, ...get(J), ...i32(8), I32_MUL, I32_ADD, ...set(PC));
  code.push(...storeBlock());
  code.push(...get(J), ...i32(4), I32_ADD, 0x22, ...uleb(J), ...get(N), I32_LT_S, 0x0d, 0x00, 0x0b);
  code.push(...get(I), ...i32(4), I32_ADD, 0x22, ...uleb(I), ...get(ROWS), I32_LT_S, 0x0d, 0x00, 0x0b);
  code.push(0x0b);
  const locals = [...uleb(2), ...uleb(9), 0x7f, ...uleb(8 + 1 + 2), 0x7b];
  const func = [...locals, ...code];
  return [...uleb(func.length), ...func];
}

/**
 * The bytes of the GEMM module (imports `env.mem`, exports `gemm`).
 *
 * @example
 * const memory = new WebAssembly.Memory({ initial: 16 });
 * const { gemm } = new WebAssembly.Instance(new WebAssembly.Module(wasmGemmBytes()), { env: { mem: memory } }).exports;
 */
export function wasmGemmBytes(): Uint8Array<ArrayBuffer> {
  const type = [0x60, ...uleb(10), ...new Array(10).fill(0x7f), 0x00];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...uleb(1), ...type]),
    ...section(2, [...uleb(1), ...name('env'), ...name('mem'), 0x02, 0x00, ...uleb(1)]),
    ...section(3, [...uleb(1), 0x00]),
    ...section(7, [...uleb(1), ...name('gemm'), 0x00, 0x00]),
    ...section(10, [...uleb(1), ...gemmBody()]),
  ];
  return new Uint8Array(bytes);
}

/** The GEMM function of `wasmGemmBytes`, instantiated over `memory`. */
export type WasmGemm = (c: number, a: number, aRow: number, aCol: number, b: number, bRow: number, rows: number, n: number, k: number, accumulate: number) => void;

/**
 * Instantiates the SIMD GEMM over a memory, or returns undefined where WebAssembly SIMD is unavailable.
 *
 * @example
 * const gemm = instantiateWasmGemm(new WebAssembly.Memory({ initial: 16 }));
 */
export function instantiateWasmGemm(memory: WebAssembly.Memory): WasmGemm | undefined {
  try {
    // One module per process: instances share its compiled (and tiered-up) code.
    gemmModule ??= new WebAssembly.Module(wasmGemmBytes());
    return new WebAssembly.Instance(gemmModule, { env: { mem: memory } }).exports.gemm as WasmGemm;
  } catch {
    return undefined;
  }
}

let gemmModule: WebAssembly.Module | undefined;
