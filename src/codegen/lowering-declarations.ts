import { DarbouxError } from '../errors.js';
import type { Target } from './target.js';

/**
 * The declarations part of a lowering (the base of `Lowering`): the target's settings, generated names, and the
 * hoisted declarations (scratch arrays, constant tensors, growable arrays, hoisted values) — all shared by a
 * scope and its forks — and values made once per generated function (`shared`).
 *
 * @example
 * const declarations = new LoweringDeclarations(jsTarget, { prefix: 'v' });
 * const scratch = declarations.array(64); // 'va0'; declarations.hoisted holds its declaration
 */
export class LoweringDeclarations {
  readonly target: 'js' | 'wgsl';
  readonly unrollLimit: number;
  readonly keepsLongVectorsUnrolled: boolean;
  /** Hoisted declarations (scratch arrays, constant tensors), shared with forks. */
  readonly hoisted: string[];
  private readonly names: { counter: number };
  private readonly memo: Map<string, unknown>;
  private readonly prefix: string;

  constructor(readonly syntax: Target, options: { unrollLimit?: number; prefix?: string }, parent?: LoweringDeclarations) {
    this.target = syntax.name;
    this.keepsLongVectorsUnrolled = syntax.keepsLongVectorsUnrolled;
    this.unrollLimit = options.unrollLimit ?? parent?.unrollLimit ?? 16;
    this.prefix = options.prefix ?? parent?.prefix ?? '';
    this.hoisted = parent?.hoisted ?? [];
    this.names = parent?.names ?? { counter: 0 };
    this.memo = parent?.memo ?? new Map();
  }

  literal(v: number): string {
    return this.syntax.literal(v);
  }

  /** A fresh generated identifier. */
  fresh(kind: string): string {
    return `${this.prefix}${kind}${this.names.counter++}`;
  }

  array(n: number): string {
    const name = this.fresh('a');
    this.hoisted.push(this.syntax.arrayDecl(name, n));
    return name;
  }

  intArray(n: number): string {
    const name = this.fresh('a');
    this.hoisted.push(this.syntax.intArrayDecl(name, n));
    return name;
  }

  growableIntArray(n: number): string {
    return this.growable('Int32Array', n);
  }

  growableArray(n: number): string {
    return this.growable('Float64Array', n);
  }

  hoistedValue(code: string): string {
    if (this.target !== 'js') throw new DarbouxError('INTERNAL', `lowering: a hoisted value exists only in JS, not in ${this.target}`, { target: this.target });
    const name = this.fresh('h');
    this.hoisted.push(`const ${name} = ${code};`);
    return name;
  }

  shared<T>(key: string, make: () => T): T {
    if (!this.memo.has(key)) this.memo.set(key, make());
    return this.memo.get(key) as T;
  }

  private growable(type: string, n: number): string {
    if (this.target !== 'js') throw new DarbouxError('INTERNAL', `lowering: a growable array exists only in JS, not in ${this.target}`, { target: this.target });
    const name = this.fresh('g');
    this.hoisted.push(`let ${name} = new ${type}(${n});`);
    return name;
  }

  constantArray(values: readonly number[]): string {
    const name = this.fresh('k');
    this.hoisted.push(this.syntax.constantArrayDecl(name, values));
    return name;
  }
}
