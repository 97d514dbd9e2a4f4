/**
 * The system and the initial states of a command line: `--H/--q/--p/--params`, `--system spec.json` or
 * `--model name`; `--q0/--p0` files, `--init random --radius r --seed s`, or the model's own state.
 */
import fs from 'node:fs';
import {
  DarbouxError, coupledOscillator, createRandom, dnls, doublePendulum, doubleWell, fpuChain, harmonicOscillator, henonHeiles,
  kepler, keplerPolar, lennardJones, loadArray, parse, pendulum, type FormulaSpec, type Hamiltonian, type Model,
} from '../index.js';
import { listFlag, paramsFlag, UsageError, type OptionSpec } from './args.js';
import { memberSeed } from './shard.js';
import { energyLevelSpec, energyLevelStates } from './energy-init.js';

/** The model zoo by CLI name: the factory names in kebab case, each with its default options. */
export const MODELS: Readonly<Record<string, () => Model>> = {
  'harmonic-oscillator': () => harmonicOscillator(),
  pendulum: () => pendulum(),
  kepler: () => kepler(),
  'kepler-polar': () => keplerPolar(),
  'henon-heiles': () => henonHeiles(),
  'lennard-jones': () => lennardJones(),
  'double-well': () => doubleWell(),
  'coupled-oscillator': () => coupledOscillator(),
  'double-pendulum': () => doublePendulum(),
  dnls: () => dnls(),
  'fpu-chain': () => fpuChain(),
};

/** The flags that choose a system. */
export const SYSTEM_OPTIONS = {
  H: { type: 'string' },
  q: { type: 'string' },
  p: { type: 'string' },
  params: { type: 'string', multiple: true },
  system: { type: 'string' },
  model: { type: 'string' },
} as const satisfies OptionSpec;

/** The flags that choose initial states. */
export const STATE_OPTIONS = {
  q0: { type: 'string' },
  p0: { type: 'string' },
  init: { type: 'string' },
  energy: { type: 'string' },
  radius: { type: 'string' },
  seed: { type: 'string' },
  batch: { type: 'string' },
} as const satisfies OptionSpec;

/** Help text for the system and state flags. */
export const SYSTEM_HELP = `System (one of):
  --H '<formula>' --q x,y --p u,w [--params k=1,lam=0.5]   a Hamiltonian formula
  --system spec.json                                        parse's spec as JSON: { "q": [...], "p": [...], "H": "...", "params": {...} }
  --model <name>                                            ${Object.keys(MODELS).join(', ')}
                                                            (--params overrides the model's parameters)`;

/** Help text for the initial-state flags. */
export const STATE_HELP = `Initial states (batch × dof; one row is repeated for every trajectory):
  --q0 FILE --p0 FILE        .npy, .npz (member 'q' / 'p', or the only one), .csv (rows × dof, header row), .json
  --init random --radius r --seed s   uniform in [-r, r] around the model's state (or 0); default r = 0.1, s = 0
  --init energy --energy E --section NAME [--radius r --seed s]   every member on H = E and on NAME = 0 (a
                             position): the other coordinates as --init random, NAME's momentum solved from
                             H = E with the sign of --section-direction (+ for 1 or 0); a draw off the level is redrawn
  --batch n                  trajectories (default: the rows of --q0, else 1)
  (default with --model: the model's own state)`;

/** A system chosen on the command line, with the model when it came from the zoo. */
export interface ChosenSystem {
  hamiltonian: Hamiltonian;
  model?: Model;
  /** How it was given, for reports: the formula, the spec file or the model name. */
  label: string;
}

/**
 * The Hamiltonian of a command line (exactly one of --H, --system, --model).
 *
 * @example
 * chooseSystem('run', { H: 'p^2/2 + q^2/2', q: 'q', p: 'p' }) // { hamiltonian, label: 'H = p^2/2 + q^2/2' }
 */
export function chooseSystem(command: string, values: { H?: string; q?: string; p?: string; params?: string[]; system?: string; model?: string }): ChosenSystem {
  const given = (['H', 'system', 'model'] as const).filter((k) => values[k] !== undefined);
  if (given.length !== 1) throw new UsageError(`give exactly one of --H (with --q, --p), --system or --model${given.length > 1 ? ` (got ${given.map((k) => `--${k}`).join(', ')})` : ''}`, command);
  const params = paramsFlag(command, values.params);
  if (values.model !== undefined) {
    const make = Object.hasOwn(MODELS, values.model) ? MODELS[values.model] : undefined;
    if (!make) throw new UsageError(`unknown model '${values.model}'; models: ${Object.keys(MODELS).join(', ')}`, command);
    const model = make();
    const known = Object.keys(model.hamiltonian.paramsByName());
    const unknown = Object.keys(params).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new UsageError(`model '${values.model}' has no parameter ${unknown.join(', ')} (its parameters: ${known.join(', ') || 'none'})`, command);
    return { hamiltonian: Object.keys(params).length > 0 ? model.hamiltonian.withParams(params) : model.hamiltonian, model, label: values.model };
  }
  if (values.system !== undefined) {
    let spec: FormulaSpec;
    try {
      spec = JSON.parse(fs.readFileSync(values.system, 'utf8')) as FormulaSpec;
    } catch (e) {
      throw new DarbouxError('INPUT', `cannot read the system spec ${values.system}: ${(e as Error).message}`, { path: values.system });
    }
    return { hamiltonian: parse({ ...spec, params: { ...spec.params, ...params } }), label: values.system };
  }
  const q = listFlag(values.q), p = listFlag(values.p);
  if (!q || !p) throw new UsageError('--H needs --q and --p (comma-separated names, e.g. --q x,y --p px,py)', command);
  return { hamiltonian: parse({ q, p, H: values.H!, params }), label: `H = ${values.H}` };
}

/** The flags chooseStates reads (--energy, --section and --section-direction for --init energy). */
export interface StateValues {
  q0?: string; p0?: string; init?: string; radius?: string; seed?: string;
  energy?: string; section?: string; 'section-direction'?: string;
}

/** Initial states: batch × dof each. */
export interface InitialStates {
  q0: Float64Array;
  p0: Float64Array;
  batch: number;
}

/** A state file as batch × dof (a single row of dof numbers is repeated for every trajectory). */
function stateFromFile(path: string, which: 'q' | 'p', dof: number, batch: number | undefined): { data: Float64Array; rows: number } {
  const a = loadArray(path, which);
  const rows = a.shape.length <= 1 ? 1 : a.shape.slice(0, -1).reduce((x, y) => x * y, 1);
  if (a.data.length !== rows * dof) {
    throw new DarbouxError('INPUT', `${path}: the ${which === 'q' ? 'positions' : 'momenta'} need ${dof} numbers per trajectory (dof), got shape (${a.shape.join(', ')})`, { path, shape: a.shape });
  }
  if (rows === 1 && batch !== undefined && batch > 1) {
    const data = new Float64Array(batch * dof);
    for (let b = 0; b < batch; b++) data.set(a.data, b * dof);
    return { data, rows: batch };
  }
  if (batch !== undefined && rows !== batch) throw new DarbouxError('INPUT', `${path}: ${rows} trajectories, but --batch is ${batch}`, { path, rows, batch });
  return { data: a.data, rows };
}

/**
 * The initial states of a command line: files (--q0, --p0), a random cloud (--init random) around the model's
 * state or the origin, or the model's state repeated.
 *
 * @example
 * const { q0, p0, batch } = chooseStates('run', values, chosen, 4);
 */
export function chooseStates(
  command: string,
  values: StateValues,
  chosen: ChosenSystem,
  batchFlag: number | undefined,
  members?: { start: number; end: number },
): InitialStates {
  const all = chooseAllStates(command, values, chosen, batchFlag, members);
  if (!members || all.batch === members.end - members.start) return all;
  const dof = chosen.hamiltonian.dof;
  const take = (a: Float64Array) => a.slice(members.start * dof, members.end * dof);
  return { q0: take(all.q0), p0: take(all.p0), batch: members.end - members.start };
}

/** All initial states (or, for --init random and the model's state, those of `members` only). */
function chooseAllStates(
  command: string,
  values: StateValues,
  chosen: ChosenSystem,
  batchFlag: number | undefined,
  members: { start: number; end: number } | undefined,
): InitialStates {
  const dof = chosen.hamiltonian.dof;
  if ((values.q0 === undefined) !== (values.p0 === undefined)) throw new UsageError('give both --q0 and --p0', command);
  if (values.q0 !== undefined) {
    if (values.init !== undefined) throw new UsageError('give either --q0/--p0 or --init, not both', command);
    const q = stateFromFile(values.q0, 'q', dof, batchFlag);
    const p = stateFromFile(values.p0!, 'p', dof, batchFlag ?? q.rows);
    if (q.rows !== p.rows) throw new DarbouxError('INPUT', `--q0 has ${q.rows} trajectories and --p0 ${p.rows}`, { q: q.rows, p: p.rows });
    return { q0: q.data, p0: p.data, batch: q.rows };
  }
  const first = members?.start ?? 0;
  const batch = members ? members.end - members.start : batchFlag ?? 1;
  const center = { q: chosen.model?.q0 ?? new Array<number>(dof).fill(0), p: chosen.model?.p0 ?? new Array<number>(dof).fill(0) };
  if (values.init === undefined && !chosen.model) throw new UsageError('give initial states: --q0 FILE --p0 FILE, --init random [--radius r --seed s] or --init energy --energy E --section NAME', command);
  if (values.init !== undefined && values.init !== 'random' && values.init !== 'energy') throw new UsageError(`--init takes 'random' or 'energy', got '${values.init}'`, command);
  if (values.init !== 'energy' && values.energy !== undefined) throw new UsageError('--energy needs --init energy', command);
  const radius = values.init !== undefined ? Number(values.radius ?? 0.1) : 0;
  const seed = Number(values.seed ?? 0);
  if (!(radius >= 0 && Number.isFinite(radius))) throw new UsageError(`--radius must be a non-negative number, got '${values.radius}'`, command);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed must be an integer, got '${values.seed}'`, command);
  if (values.init === 'energy') {
    const spec = energyLevelSpec(command, values, chosen.hamiltonian, radius, seed, center);
    return { ...energyLevelStates(chosen.hamiltonian, spec, first, batch), batch };
  }
  const q0 = new Float64Array(batch * dof), p0 = new Float64Array(batch * dof);
  for (let b = 0; b < batch; b++) {
    // Member k's state depends on (seed, k) only, so it is the same in any --shard split.
    const rng = createRandom(memberSeed(seed, first + b));
    for (let i = 0; i < dof; i++) q0[b * dof + i] = center.q[i]! + radius * (2 * rng.next() - 1);
    for (let i = 0; i < dof; i++) p0[b * dof + i] = center.p[i]! + radius * (2 * rng.next() - 1);
  }
  return { q0, p0, batch };
}
