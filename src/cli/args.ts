/**
 * Argument parsing for the CLI, on `node:util` `parseArgs`: a usage error (an unknown flag, a bad value) is a
 * {@link UsageError}, which the CLI prints with the command's usage and exits 2 for.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command line the CLI cannot accept: exit code 2, the message and the command's usage on stderr. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The options of a command, as `parseArgs` takes them. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Flags every command takes. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
} as const satisfies OptionSpec;

/**
 * Parses a command's arguments strictly; unknown flags and missing values become a UsageError.
 *
 * @example
 * const { values, positionals } = parseCommand('run', argv, { ...COMMON_OPTIONS, dt: { type: 'string' } });
 */
export function parseCommand<O extends OptionSpec>(command: string, argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''), command);
  }
}

/**
 * A number flag: undefined when absent; a UsageError when not a number (or not an integer / not positive when asked).
 *
 * @example
 * numberFlag('run', 'steps', values.steps, { integer: true, positive: true }) // 1000
 */
export function numberFlag(command: string, name: string, text: string | undefined, rules: { integer?: boolean; positive?: boolean; min?: number } = {}): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  const bad = text.trim() === '' || !Number.isFinite(value)
    || (rules.integer === true && !Number.isSafeInteger(value))
    || (rules.positive === true && value <= 0)
    || (rules.min !== undefined && value < rules.min);
  if (bad) {
    const what = `${rules.positive ? 'a positive ' : rules.min !== undefined ? `a ≥ ${rules.min} ` : 'a '}${rules.integer ? 'integer' : 'number'}`;
    throw new UsageError(`--${name} must be ${what}, got '${text}'`, command);
  }
  return value;
}

/**
 * A comma-separated list flag ('x,y' → ['x', 'y']), or undefined when absent.
 *
 * @example
 * listFlag(values.q) // ['x', 'y']
 */
export function listFlag(text: string | undefined): string[] | undefined {
  return text === undefined ? undefined : text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * `name=value` pairs, comma-separated or repeated ('k=1,lam=0.5' → { k: 1, lam: 0.5 }).
 *
 * @example
 * paramsFlag('run', ['k=1', 'lam=0.5']) // { k: 1, lam: 0.5 }
 */
export function paramsFlag(command: string, texts: readonly string[] | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of (texts ?? []).flatMap((t) => t.split(','))) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*$/.exec(item);
    if (!m || !Number.isFinite(Number(m[2]))) throw new UsageError(`--params takes name=number pairs (k=1,lam=0.5), got '${item}'`, command);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}
