/**
 * Comma-separated tables of numbers: a header row of column names, then one row per record. Numbers are
 * written with JavaScript's shortest round-trip digits (`String(x)`, so reading gives back the same float64),
 * −0 as `-0`, and the non-finite values as `NaN`, `Infinity`, `-Infinity` (what Python's `float()`, NumPy's
 * `loadtxt` and pandas read). Column names may not contain commas, quotes or line breaks.
 */
import type { NdArray } from './ndarray.js';
import { corrupt } from './ndarray.js';

/** A table of numbers: column names and a rows × columns array. */
export interface CsvTable {
  readonly header: readonly string[];
  /** rows × columns, row-major. */
  readonly data: NdArray;
}

/**
 * A number as CSV text: shortest round-trip digits, `-0` for negative zero, `NaN` / `Infinity` / `-Infinity`.
 *
 * @example
 * csvNumber(0.1) // '0.1'; csvNumber(-0) // '-0'; csvNumber(5e-324) // '5e-324'
 */
export function csvNumber(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

/**
 * The CSV text of a table: the header row, then the rows, `\n`-terminated.
 *
 * @example
 * writeCsv({ header: ['x', 'px'], data: { shape: [2, 2], data: Float64Array.of(1, 0, 0.5, -0.25) } });
 * // 'x,px\n1,0\n0.5,-0.25\n'
 */
export function writeCsv(table: CsvTable): string {
  const { header, data } = table;
  const columns = header.length;
  if (data.shape.length !== 2 || data.shape[1] !== columns) {
    throw corrupt('writeCsv', `the data must be rows × ${columns} columns (one per header name), got shape [${data.shape.join(', ')}]`);
  }
  for (const name of header) {
    if (/[,"\r\n]/.test(name) || name.trim() !== name || name === '') {
      throw corrupt('writeCsv', `column name ${JSON.stringify(name)} is empty or holds a comma, quote, line break or surrounding space`);
    }
  }
  const lines = [header.join(',')];
  const rows = data.shape[0]!;
  for (let r = 0; r < rows; r++) {
    const cells = new Array<string>(columns);
    for (let c = 0; c < columns; c++) cells[c] = csvNumber(data.data[r * columns + c]!);
    lines.push(cells.join(','));
  }
  return `${lines.join('\n')}\n`;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SPECIAL: Record<string, number> = { nan: NaN, inf: Infinity, infinity: Infinity };

/**
 * Reads CSV text with a header row (optionally starting with `#`, as `np.savetxt` writes it; names may be
 * double-quoted) into column names and a rows × columns float64 array. Cells are decimal numbers, `NaN`,
 * `Infinity`/`inf` with an optional sign (any case). Throws DarbouxError INPUT naming the line and column of a
 * cell that is not a number, or a row of the wrong length.
 *
 * @example
 * const { header, data } = readCsv(fs.readFileSync('q0.csv', 'utf8')); // data.shape: [rows, header.length]
 */
export function readCsv(text: string, what = 'csv'): CsvTable {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0) throw corrupt(what, 'empty CSV file: it needs a header row');
  const header = lines[0]!.replace(/^#\s*/, '').split(',').map((s) => s.trim().replace(/^"(.*)"$/, '$1'));
  const columns = header.length;
  const data = new Float64Array((lines.length - 1) * columns);
  for (let r = 1; r < lines.length; r++) {
    const cells = lines[r]!.split(',');
    if (cells.length !== columns) throw corrupt(what, `line ${r + 1} has ${cells.length} cells; the header has ${columns} columns`, { line: r + 1 });
    for (let c = 0; c < columns; c++) data[(r - 1) * columns + c] = parseCell(cells[c]!, what, r + 1, header[c]!);
  }
  return { header, data: { shape: [lines.length - 1, columns], data } };
}

function parseCell(cell: string, what: string, line: number, column: string): number {
  const s = cell.trim();
  if (NUMBER.test(s)) return Number(s);
  const sign = s.startsWith('-') ? -1 : 1;
  const special = SPECIAL[s.replace(/^[+-]/, '').toLowerCase()];
  if (special !== undefined) return sign * special;
  throw corrupt(what, `line ${line}, column '${column}': ${JSON.stringify(cell)} is not a number`, { line, column });
}
