/**
 * The CLI's streams: results go to stdout, logs and progress to stderr. Progress is a line redrawn in place on
 * a terminal and plain periodic lines otherwise; colour only on a terminal and never with NO_COLOR set.
 */

/** Where the CLI writes, and what it knows about the terminal (injected, so tests can run it in-process). */
export interface CliStreams {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: Readonly<Record<string, string | undefined>>;
  /** Milliseconds, for rates and ETAs (default Date.now). */
  now?: () => number;
}

/**
 * The streams of this process.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2), processStreams());
 */
export function processStreams(): CliStreams {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/**
 * Whether to colour a stream: a terminal, and NO_COLOR unset or empty (https://no-color.org).
 *
 * @example
 * const red = useColor(io.stderr, io.env) ? (s: string) => `\x1b[31m${s}\x1b[0m` : (s: string) => s;
 */
export function useColor(stream: { isTTY?: boolean }, env: CliStreams['env']): boolean {
  return stream.isTTY === true && (env.NO_COLOR ?? '') === '' && env.TERM !== 'dumb';
}

/** A colouring function for a stream (identity when colour is off). @example paint(io.stdout, io.env, 32)('ok') */
export function paint(stream: { isTTY?: boolean }, env: CliStreams['env'], code: number): (s: string) => string {
  return useColor(stream, env) ? (s) => `\x1b[${code}m${s}\x1b[0m` : (s) => s;
}

/** A progress reporter: `update(done)` as work advances, `done()` at the end. */
export interface Progress {
  update(done: number): void;
  finish(): void;
}

/** Options of {@link progressLine}. */
export interface ProgressOptions {
  /** Total units of work (steps). */
  total: number;
  /** What is counted ('steps'). */
  unit: string;
  /** Label at the start of the line. */
  label: string;
  /** Off: report nothing (--quiet, or --json with no terminal). */
  enabled: boolean;
  /** Non-terminal: milliseconds between plain lines (default 2000). */
  everyMs?: number;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * A progress line on stderr with the rate and the ETA: redrawn in place (at most 10 times a second) on a
 * terminal, a plain line every `everyMs` otherwise.
 *
 * @example
 * const bar = progressLine(io, { total: steps, unit: 'steps', label: 'run', enabled: true });
 * bar.update(500); bar.finish();
 */
export function progressLine(io: CliStreams, options: ProgressOptions): Progress {
  const now = io.now ?? Date.now;
  const start = now();
  const tty = io.stderr.isTTY === true;
  const every = tty ? 100 : (options.everyMs ?? 2000);
  let last = start, drawn = false;
  const text = (done: number) => {
    const seconds = (now() - start) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 ? (options.total - done) / rate : Infinity;
    const percent = options.total > 0 ? Math.floor((100 * done) / options.total) : 100;
    return `${options.label}: ${done}/${options.total} ${options.unit} (${percent}%), ${rate.toPrecision(3)} ${options.unit}/s, ETA ${formatDuration(eta)}`;
  };
  return {
    update(done) {
      if (!options.enabled || now() - last < every) return;
      last = now();
      if (tty) { io.stderr.write(`\r\x1b[2K${text(done)}`); drawn = true; }
      else io.stderr.write(`${text(done)}\n`);
    },
    finish() {
      if (drawn) io.stderr.write('\r\x1b[2K');
    },
  };
}
