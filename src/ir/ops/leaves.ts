/** Leaf ops: uniform constants, constant tensors and inputs. Their values are bound by the emitter. */
import { DarbouxError } from '../../errors.js';
import { defineOp } from '../op.js';
import { size } from '../shape.js';

const leafShape = (op: string) => (args: readonly unknown[], attrs: Readonly<Record<string, unknown>>) => {
  if (args.length !== 0) throw new DarbouxError('SHAPE', `${op}: takes no arguments`);
  const shape = attrs.shape as number[] | undefined;
  if (!Array.isArray(shape) || shape.length > 2 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new DarbouxError('SHAPE', `${op}: invalid shape ${JSON.stringify(shape)}`);
  }
  return shape;
};

const noDerivative = { jvp: () => null, vjp: () => [] };

defineOp({
  name: 'const',
  shape: leafShape('const'),
  print: { custom: (_a, n) => String(n.attrs.value) },
  evaluate: (_v, n) => new Float64Array(n.shape.reduce((a, b) => a * b, 1)).fill(n.attrs.value as number),
  emit: (ctx, n) => {
    const literal = ctx.literal(n.attrs.value as number);
    return n.shape.length === 0 ? { kind: 'scalar', code: literal } : { kind: 'unrolled', elems: Array(size(n.shape)).fill(literal) };
  },
  ...noDerivative,
});
defineOp({
  name: 'tensor',
  shape: leafShape('tensor'),
  print: { custom: (_a, n) => `[${(n.attrs.values as number[]).join(', ')}]` },
  evaluate: (_v, n) => Float64Array.from(n.attrs.values as number[]),
  emit: (ctx, n) => {
    const values = n.attrs.values as number[];
    if (values.length <= ctx.unrollLimit) return { kind: 'unrolled', elems: values.map((v) => ctx.literal(v)) };
    return { kind: 'array', name: ctx.constantArray(values), size: values.length };
  },
  ...noDerivative,
});
/** Inputs are bound by whoever evaluates or compiles a graph; reaching an input's own rules means one was left out. */
const unbound = (n: { attrs: Readonly<Record<string, unknown>> }): never => {
  throw new DarbouxError(
    'SPEC',
    `input '${String(n.attrs.name)}' (${String(n.attrs.role)}) is not bound: list it among the inputs of the evaluated or compiled function`,
    { name: n.attrs.name, role: n.attrs.role },
  );
};
defineOp({
  name: 'input',
  shape: leafShape('input'),
  print: { custom: (_a, n) => String(n.attrs.name) },
  evaluate: (_v, n) => unbound(n),
  emit: (_ctx, n) => unbound(n),
  ...noDerivative,
});
