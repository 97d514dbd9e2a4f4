/** Elementary functions: one line each for kernels (f64 JS, f32 WGSL) and the derivative. */
import type { Expr } from '../expr.js';
import { add, constant, cosh, cos, div, mul, powi, sigmoid, sign, sinh, sin, sub } from '../build.js';
import { elementwiseOp } from './elementwise.js';

interface FunctionSpec {
  name: string;
  /** f64 value. */
  apply: (x: number) => number;
  /** Exceptions to the default renderings `Math.<name>(x)` (JS) and `<name>(x)` (WGSL). */
  js?: (x: string) => string;
  wgsl?: (x: string) => string;
  /** d/dx f(x), given x and the node f(x) itself. */
  derivative: (x: Expr, fx: Expr) => Expr;
  repeatsArgs?: boolean;
}

function fn(spec: FunctionSpec): void {
  const { js, wgsl } = spec;
  elementwiseOp({
    name: spec.name,
    arity: 1,
    impl: {
      apply: ([x]) => spec.apply(x!),
      ...(js && { js: ([x]: string[]) => js(x!) }),
      ...(wgsl && { wgsl: ([x]: string[]) => wgsl(x!) }),
      repeatsArgs: spec.repeatsArgs,
    },
    partial: (node) => spec.derivative(node.args[0]!, node),
    print: { call: spec.name },
  });
}

/** Stable log(1 + e^x). */
const softplusValue = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

fn({ name: 'sqrt', apply: Math.sqrt, derivative: (_x, f) => div(0.5, f) });
fn({ name: 'exp', apply: Math.exp, derivative: (_x, f) => f });
fn({ name: 'log', apply: Math.log, derivative: (x) => div(1, x) });
fn({ name: 'sin', apply: Math.sin, derivative: (x) => cos(x) });
fn({ name: 'cos', apply: Math.cos, derivative: (x) => mul(-1, sin(x)) });
fn({ name: 'tan', apply: Math.tan, derivative: (_x, f) => add(1, powi(f, 2)) });
// WGSL's tanh may overflow to NaN for large |x| in f32 on some drivers; tanh is ±1 to f32 precision past |x| = 10.
fn({ name: 'tanh', apply: Math.tanh, wgsl: (x) => `tanh(clamp(${x}, -10.0, 10.0))`, derivative: (_x, f) => sub(1, powi(f, 2)) });
fn({ name: 'sinh', apply: Math.sinh, derivative: (x) => cosh(x) });
fn({ name: 'cosh', apply: Math.cosh, derivative: (x) => sinh(x) });
fn({ name: 'abs', apply: Math.abs, derivative: (x) => sign(x) });
fn({ name: 'sign', apply: Math.sign, derivative: (x) => constant(0, x.shape) });
fn({
  name: 'softplus',
  apply: softplusValue,
  js: (x) => `(Math.max(${x}, 0) + Math.log1p(Math.exp(-Math.abs(${x}))))`,
  wgsl: (x) => `(max(${x}, 0.0) + log(1.0 + exp(-abs(${x}))))`,
  derivative: (x) => sigmoid(x),
  repeatsArgs: true,
});
fn({
  name: 'sigmoid',
  apply: (x) => 1 / (1 + Math.exp(-x)),
  js: (x) => `(1 / (1 + Math.exp(-${x})))`,
  wgsl: (x) => `(1.0 / (1.0 + exp(-${x})))`,
  derivative: (_x, f) => mul(f, sub(1, f)),
});
