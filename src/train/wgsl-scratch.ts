/**
 * Scratch tensors of a generated WGSL kernel placed in a storage buffer instead of function-scope arrays.
 * Software adapters (Mesa llvmpipe) lower a dynamically indexed function-scope array to a chain of selects
 * over all its elements, so a per-sample gradient kernel with 200-element layers took minutes to compile;
 * storage accesses are plain loads. The layout is interleaved across invocations (element k of invocation b
 * at base + k·stride + b), so neighbouring invocations touch neighbouring words.
 */
import type { Target } from '../codegen/target.js';
import { wgslTarget } from '../codegen/target-wgsl.js';

/**
 * Collects the scratch arrays a lowering declares and rewrites their accesses `name[i]` into
 * `buffer[base + (offset + (i)) * stride]`.
 *
 * @example
 * const scratch = new StorageScratch();
 * const lowering = new Lowering(scratch.target, { prefix: 'v' });
 * // … emit …
 * const body = lowering.lines.map((l) => scratch.rewrite(l, 'dOut', 'sBase', 'sStride'));
 */
export class StorageScratch {
  private readonly arrays = new Map<string, number>();
  /** Floats of scratch per invocation. */
  size = 0;
  /** The WGSL target, except that scratch-array declarations reserve storage instead of declaring a variable. */
  readonly target: Target = {
    ...wgslTarget,
    arrayDecl: (name, n) => {
      this.arrays.set(name, this.size);
      this.size += n;
      return `// ${name}: ${n} floats of storage scratch`;
    },
  };

  /** Rewrites every access to a scratch array in one line of generated code. */
  rewrite(line: string, buffer: string, base: string, stride: string): string {
    if (this.arrays.size === 0) return line;
    let out = '';
    let at = 0;
    const ident = /[A-Za-z_][A-Za-z0-9_]*/g;
    for (let m = ident.exec(line); m !== null; m = ident.exec(line)) {
      const offset = this.arrays.get(m[0]);
      const open = m.index + m[0].length;
      if (offset === undefined || line[open] !== '[') continue;
      let depth = 1, close = open + 1;
      for (; close < line.length && depth > 0; close++) {
        if (line[close] === '[') depth++;
        else if (line[close] === ']') depth--;
      }
      const inner = this.rewrite(line.slice(open + 1, close - 1), buffer, base, stride);
      out += `${line.slice(at, m.index)}${buffer}[${base} + (${offset} + (${inner})) * ${stride}]`;
      at = close;
      ident.lastIndex = close;
    }
    return out + line.slice(at);
  }
}
