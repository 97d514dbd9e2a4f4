/** Leaf ops: uniform constants, constant tensors and inputs. Their values are bound by the emitter. */
import { DarbouxError } from '../../errors.js';
import { defineOp } from '../op.js';

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
  ...noDerivative,
});
defineOp({
  name: 'tensor',
  shape: leafShape('tensor'),
  print: { custom: (_a, n) => `[${(n.attrs.values as number[]).join(', ')}]` },
  evaluate: (_v, n) => Float64Array.from(n.attrs.values as number[]),
  ...noDerivative,
});
defineOp({ name: 'input', shape: leafShape('input'), print: { custom: (_a, n) => String(n.attrs.name) }, ...noDerivative });
