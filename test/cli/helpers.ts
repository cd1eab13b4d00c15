/**
 * Running `ganglion` tools in tests: as the real bin in a child process
 * (needs `npm run build`), or in-process through a tool's exported function
 * with captured standard streams (faster; used where the process boundary
 * adds nothing).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { LiveProcess, repoRoot, run } from '../helpers/broker.js';
import type { CliIo } from '../../src/cli/common.js';

export const BIN = join(repoRoot, 'bin', 'ganglion.js');

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function requireBuild(): void {
  if (!existsSync(join(repoRoot, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
}

/** Runs `ganglion <args>` as a child process, with `input` on its standard input. */
export async function ganglion(args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<ToolResult> {
  requireBuild();
  const r = await run(process.execPath, [BIN, ...args], { input: options.input ?? '', timeoutMs: options.timeoutMs ?? 30_000, cwd: repoRoot });
  if (r.timedOut) throw new Error(`ganglion ${args.join(' ')} timed out\n${r.stdout.toString()}\n${r.stderr.toString()}`);
  return { code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

/** Starts `ganglion <args>` and returns the live process (for signals and streaming output). */
export function startGanglion(args: readonly string[]): LiveProcess {
  requireBuild();
  return LiveProcess.start(process.execPath, [BIN, ...args], { cwd: repoRoot, label: `ganglion ${args[0]}` });
}

/** Captured streams for an in-process tool run. */
export class TestIo implements CliIo {
  readonly stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
  readonly stdout = new PassThrough() as PassThrough & { isTTY?: boolean };
  readonly stderr = new PassThrough();
  private readonly signals = new EventEmitter();
  private out: Buffer[] = [];
  private err: Buffer[] = [];

  constructor(input: string | null = '') {
    this.stdout.on('data', (c: Buffer) => this.out.push(c));
    this.stderr.on('data', (c: Buffer) => this.err.push(c));
    if (input !== null) this.stdin.end(input);
  }

  onSignal(handler: (signal: NodeJS.Signals) => void): () => void {
    this.signals.on('signal', handler);
    return () => this.signals.off('signal', handler);
  }

  /** Delivers a signal to the running tool. */
  signal(signal: NodeJS.Signals): void {
    this.signals.emit('signal', signal);
  }

  get output(): string {
    return Buffer.concat(this.out).toString('utf8');
  }

  get errors(): string {
    return Buffer.concat(this.err).toString('utf8');
  }
}

/** Runs a tool function in-process. */
export async function runTool(
  tool: (argv: string[], io: CliIo) => Promise<number>,
  args: readonly string[],
  input = '',
): Promise<ToolResult> {
  const io = new TestIo(input);
  const code = await tool([...args], io);
  return { code, stdout: io.output, stderr: io.errors };
}

/** Lines of output without the trailing empty one. */
export function lines(text: string): string[] {
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all;
}

let counter = 0;
/** A topic name unique within the run. */
export function topicName(prefix = 'cli'): string {
  return `${prefix}-${process.pid}-${++counter}`;
}
