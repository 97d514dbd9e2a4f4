/**
 * The `darboux` command line: `darboux <command> [options]`. Results on stdout, logs and progress on stderr;
 * exit code 0 on success, 1 on a failure (a DarbouxError: bad input, a failed check, a diverged run), 2 on a
 * usage error (an unknown command or flag, a bad flag value).
 */
import { DarbouxError, releaseGpu } from '../index.js';
import { UsageError } from './args.js';
import { benchCommand, BENCH_USAGE } from './bench.js';
import { checkCommand, CHECK_USAGE } from './check.js';
import { compileCommand, COMPILE_USAGE } from './compile.js';
import { mergeCommand, MERGE_USAGE } from './merge.js';
import { runCommand, RUN_USAGE } from './run.js';
import { plotCommand, PLOT_USAGE } from './plot.js';
import { paint, processStreams, type CliStreams } from './terminal.js';
import { trainCommand, TRAIN_USAGE } from './train.js';

const COMMANDS: Record<string, { run: (argv: string[], io: CliStreams, version: string) => Promise<number>; usage: string; summary: string }> = {
  run: { run: runCommand, usage: RUN_USAGE, summary: 'integrate a system; write the final state and frames (.npz .npy .csv .json)' },
  check: { run: checkCommand, usage: CHECK_USAGE, summary: 'symplecticity, reversibility, measured order and energy error of a method' },
  compile: { run: compileCommand, usage: COMPILE_USAGE, summary: 'print the generated kernel: WGSL, the JavaScript runner, or the graph JSON' },
  train: { run: trainCommand, usage: TRAIN_USAGE, summary: 'fit a neural model (hnn, sympnet, mlpField, lnn) to a data file' },
  merge: { run: mergeCommand, usage: MERGE_USAGE, summary: 'join the parts of a sharded run (--shard i/n), checking coverage and checksums' },
  plot: { run: plotCommand, usage: PLOT_USAGE, summary: 'draw energy error, phase portrait, section, loss, memory or g(r) as SVG or PNG' },
  bench: { run: benchCommand, usage: BENCH_USAGE, summary: 'throughput of a system: steps/s and trajectory-steps/s on the CPU and the GPU' },
};

/** The top-level usage. */
export const USAGE = `Usage: darboux <command> [options]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)}${c.summary}`).join('\n')}

Options:
  --version     print the version
  --help, -h    this help; darboux <command> --help for a command's

Results go to stdout, logs and progress to stderr. Exit codes: 0 ok, 1 failure, 2 usage error.
Honours NO_COLOR; progress is a redrawn line on a terminal and plain periodic lines otherwise.`;

/**
 * Runs the CLI on `argv` (without node and the script) and returns the exit code.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2), processStreams(), '0.1.0');
 */
export async function main(argv: string[], io: CliStreams, version = 'unknown'): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-v') { io.stdout.write(`${version}\n`); return 0; }
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    (first === undefined ? io.stderr : io.stdout).write(`${USAGE}\n`);
    return first === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  const json = rest.includes('--json');
  const red = paint(io.stderr, io.env, 31);
  try {
    if (!command) throw new UsageError(`unknown command '${first}'`);
    return await command.run(rest, io, version);
  } catch (e) {
    if (e instanceof UsageError) {
      const usage = e.command ? COMMANDS[e.command]!.usage : USAGE;
      io.stderr.write(`${red('darboux: usage error:')} ${e.message}\n\n${usage}\n`);
      return 2;
    }
    const error = e instanceof DarbouxError
      ? { code: e.code, message: e.message, details: e.details }
      : { code: 'ERROR', message: e instanceof Error ? e.message : String(e) };
    if (json) io.stderr.write(`${jsonError(error)}\n`);
    else io.stderr.write(`${red(`darboux ${first}: ${error.code}:`)} ${error.message}\n`);
    if (!(e instanceof DarbouxError) && io.env.DARBOUX_DEBUG) io.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}

/** The error as one JSON line; details that do not serialise are dropped. */
function jsonError(error: { code: string; message: string; details?: unknown }): string {
  try {
    return JSON.stringify({ error }, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
  } catch {
    return JSON.stringify({ error: { code: error.code, message: error.message } });
  }
}

/**
 * The process entry point (bin/darboux.mjs): runs {@link main} on this process's streams, releases any GPU
 * device it acquired (so the process can exit), and returns the exit code.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), '0.1.0');
 */
export async function runCli(argv: string[], version: string): Promise<number> {
  // A closed pipe (darboux … | head) is not an error of ours.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code !== 'EPIPE') throw e; });
  const code = await main(argv, processStreams(), version);
  await releaseGpu();
  return code;
}
