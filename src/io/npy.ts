/**
 * NumPy's `.npy` format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html): the magic
 * string, a version, a Python-dict header (`descr`, `fortran_order`, `shape`) padded with spaces to a multiple
 * of 64 bytes, then the raw data. darboux writes version 1.0, dtype `<f8`, C order; it reads versions 1.0–3.0
 * with dtypes `<f8`, `<f4`, `<i4`, `<i8`, `<u1`… (converted to float64), C order.
 */
import type { NdArray } from './ndarray.js';
import { corrupt, shapeSize } from './ndarray.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * The `.npy` bytes of a float64 array: format version 1.0, dtype `<f8` (little-endian float64), C order.
 * Every value is kept bit for bit (−0, subnormals, ±Infinity, NaN).
 *
 * @example
 * fs.writeFileSync('q0.npy', writeNpy({ shape: [4, 2], data: q0 }));
 * // python: np.load('q0.npy').shape == (4, 2)
 */
export function writeNpy(array: NdArray): Uint8Array {
  const size = shapeSize(array.shape, 'writeNpy');
  if (array.data.length !== size) throw corrupt('writeNpy', `shape [${array.shape.join(', ')}] holds ${size} numbers, data has ${array.data.length}`);
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = MAGIC.length + 4 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const headerBytes = new TextEncoder().encode(header);
  const offset = MAGIC.length + 4 + headerBytes.length;
  const out = new Uint8Array(offset + 8 * size);
  out.set(MAGIC, 0);
  out[6] = 1; // major version
  out[7] = 0;
  out[8] = headerBytes.length & 0xff;
  out[9] = headerBytes.length >> 8;
  out.set(headerBytes, 10);
  const view = new DataView(out.buffer, offset);
  for (let i = 0; i < size; i++) view.setFloat64(8 * i, array.data[i]!, true);
  return out;
}

/** How to read one element of each dtype `readNpy` accepts. */
const DTYPES: Record<string, { bytes: number; read: (v: DataView, at: number, little: boolean) => number }> = {
  f8: { bytes: 8, read: (v, at, le) => v.getFloat64(at, le) },
  f4: { bytes: 4, read: (v, at, le) => v.getFloat32(at, le) },
  i8: { bytes: 8, read: (v, at, le) => Number(v.getBigInt64(at, le)) },
  i4: { bytes: 4, read: (v, at, le) => v.getInt32(at, le) },
  i2: { bytes: 2, read: (v, at, le) => v.getInt16(at, le) },
  i1: { bytes: 1, read: (v, at) => v.getInt8(at) },
  u8: { bytes: 8, read: (v, at, le) => Number(v.getBigUint64(at, le)) },
  u4: { bytes: 4, read: (v, at, le) => v.getUint32(at, le) },
  u2: { bytes: 2, read: (v, at, le) => v.getUint16(at, le) },
  u1: { bytes: 1, read: (v, at) => v.getUint8(at) },
  b1: { bytes: 1, read: (v, at) => v.getUint8(at) },
};

/**
 * Reads `.npy` bytes into a float64 array with its shape. Accepts format versions 1.0, 2.0 and 3.0, C order,
 * and numeric dtypes (float64, float32, signed/unsigned integers, bool; either byte order), converted to
 * float64. Throws DarbouxError INPUT for anything else (a truncated file, a bad header, Fortran order, an
 * object or complex dtype), naming `what` (e.g. the file name).
 *
 * @example
 * const { shape, data } = readNpy(fs.readFileSync('q0.npy')); // written by np.save('q0.npy', q0)
 */
export function readNpy(bytes: Uint8Array, what = 'npy'): NdArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw corrupt(what, 'not a NumPy .npy file (no \\x93NUMPY magic string)');
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw corrupt(what, `unsupported .npy format version ${major}.${bytes[7]}`, { version: major });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw corrupt(what, 'truncated .npy header');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lengthBytes, offset = start + headerLength;
  if (offset > bytes.length) throw corrupt(what, `truncated .npy header (${headerLength} bytes announced, ${bytes.length - start} present)`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, offset));
  const { kind, little, shape } = parseHeader(header, what);
  const size = shapeSize(shape, what);
  if (offset + kind.bytes * size !== bytes.length) {
    throw corrupt(what, `.npy data has ${bytes.length - offset} bytes; shape (${shape.join(', ')}) needs ${kind.bytes * size}`, { shape });
  }
  const data = new Float64Array(size);
  for (let i = 0; i < size; i++) data[i] = kind.read(view, offset + kind.bytes * i, little);
  return { shape, data };
}

/** The dtype, byte order and shape of a `.npy` header (a Python dict literal). */
function parseHeader(header: string, what: string): { kind: (typeof DTYPES)[string]; little: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw corrupt(what, `bad .npy header ${JSON.stringify(header.trim())}: needs 'descr', 'fortran_order' and 'shape'`);
  }
  if (fortran === 'True') throw corrupt(what, 'the array is in Fortran order; save it in C order (np.save(f, np.ascontiguousarray(a)))');
  const m = /^([<>|=])([fiub])(\d+)$/.exec(descr);
  const kind = m ? DTYPES[`${m[2]}${m[3]}`] : undefined;
  if (!m || !kind) throw corrupt(what, `unsupported dtype '${descr}': use a real numeric dtype (darboux writes '<f8')`, { descr });
  const little = m[1] !== '>';
  const parts = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (!parts.every((s) => /^\d+L?$/.test(s))) throw corrupt(what, `bad .npy shape (${shapeText})`);
  return { kind, little, shape: parts.map((s) => Number.parseInt(s, 10)) };
}
