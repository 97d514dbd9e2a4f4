/**
 * A small WebAssembly binary writer shared by the hand-assembled modules (`codegen/wasm-gemm.ts`, `codegen/emit-wasm-stepper.ts`, the neighbour-list pair loop `wasm/pair-loop.ts`):
 * LEB128 numbers, names, sections, the few opcodes they use, and a one-function module around an imported memory
 * `env.mem`. No toolchain: bytes are written as the spec lays them out.
 */

/**
 * Unsigned LEB128.
 *
 * @example
 * uleb(300); // [0xac, 0x02]
 */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/**
 * Signed LEB128 (i32 constants).
 *
 * @example
 * sleb(-1); // [0x7f]
 */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

/**
 * A name (length-prefixed ASCII).
 *
 * @example
 * wasmName('env'); // [3, 0x65, 0x6e, 0x76]
 */
export function wasmName(s: string): number[] {
  return [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
}

/**
 * A section: id, byte length, body.
 *
 * @example
 * section(3, [1, 0]); // the function section of a one-function module
 */
export function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** Value types. */
export const I32 = 0x7f, F64 = 0x7c, V128 = 0x7b;

/** Control and integer/f64 opcodes used by the generated modules. */
export const OP = {
  block: 0x02, loop: 0x03, if: 0x04, end: 0x0b, br: 0x0c, brIf: 0x0d, return: 0x0f, void: 0x40,
  select: 0x1b, i32Load: 0x28, f64Load: 0x2b, f64Store: 0x39,
  i32Eqz: 0x45, i32LtS: 0x48, i32GeS: 0x4e, i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c,
  f64Add: 0xa0, f64Sub: 0xa1, f64Mul: 0xa2, f64ConvertI32S: 0xb7,
} as const;

/** SIMD opcodes (after the 0xfd prefix), f64x2 lanes. */
export const SIMD = {
  load: 0x00, store: 0x0b, const: 0x0c, load64Lane: 0x57, load64Zero: 0x5d, f64x2ExtractLane: 0x21, f64x2ReplaceLane: 0x22, f64x2Splat: 0x14, f64x2Eq: 0x47, f64x2Lt: 0x49, f64x2Gt: 0x4a, v128And: 0x4e, v128Bitselect: 0x52,
  f64x2Ceil: 0x74, f64x2Floor: 0x75, f64x2Trunc: 0x7a, i64x2AllTrue: 0xc3,
  f64x2Abs: 0xec, f64x2Neg: 0xed, f64x2Sqrt: 0xef, f64x2Add: 0xf0, f64x2Sub: 0xf1, f64x2Mul: 0xf2, f64x2Div: 0xf3,
  f64x2Min: 0xf4, f64x2Max: 0xf5,
} as const;

/** `local.get i`. @example localGet(3) // [0x20, 3] */
export const localGet = (i: number): number[] => [0x20, ...uleb(i)];
/** `local.set i`. @example localSet(3) // [0x21, 3] */
export const localSet = (i: number): number[] => [0x21, ...uleb(i)];
/** `local.tee i`. @example localTee(3) // [0x22, 3] */
export const localTee = (i: number): number[] => [0x22, ...uleb(i)];
/** `i32.const v`. @example i32Const(4) // [0x41, 4] */
export const i32Const = (v: number): number[] => [0x41, ...sleb(v)];
/** A SIMD instruction: 0xfd, the opcode as LEB128, immediates. @example simd(SIMD.f64x2Add) // [0xfd, 0xf0, 0x01] */
export const simd = (op: number, ...rest: number[]): number[] => [0xfd, ...uleb(op), ...rest];
/** A memory immediate: alignment exponent (default 3, 8 bytes: valid for f64 and v128 accesses) and offset. @example memarg(16) // [3, 16] */
export const memarg = (offset = 0, align = 3): number[] => [align, ...uleb(offset)];

/**
 * `v128.const` with both f64 lanes equal to `v` (bit for bit, -0 and NaN included).
 *
 * @example
 * f64x2Const(0.5); // [0xfd, 0x0c, …16 bytes]
 */
export function f64x2Const(v: number): number[] {
  const bytes = new Uint8Array(new Float64Array([v, v]).buffer);
  return simd(SIMD.const, ...bytes);
}

/**
 * The bytes of a module with one function, exported as `exportName`, over an imported memory `env.mem` of at
 * least one page: its type (`params` → `results`), locals (runs of [count, type]) and body (without the final `end`).
 *
 * @example
 * const bytes = oneFunctionModule('f', [I32], [I32], [], [...localGet(0)]);
 */
export function oneFunctionModule(exportName: string, params: readonly number[], results: readonly number[], locals: readonly [number, number][], body: readonly number[]): Uint8Array<ArrayBuffer> {
  const type = [0x60, ...uleb(params.length), ...params, ...uleb(results.length), ...results];
  const localBytes = [...uleb(locals.length), ...locals.flatMap(([count, t]) => [...uleb(count), t])];
  const func = [...localBytes, ...body, OP.end];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...uleb(1), ...type]),
    ...section(2, [...uleb(1), ...wasmName('env'), ...wasmName('mem'), 0x02, 0x00, ...uleb(1)]),
    ...section(3, [...uleb(1), 0x00]),
    ...section(7, [...uleb(1), ...wasmName(exportName), 0x00, 0x00]),
    ...section(10, [...uleb(1), ...uleb(func.length), ...func]),
  ];
  return new Uint8Array(bytes);
}
