/**
 * What every `ganglion` tool shares: where input and output go (so tests can
 * run a tool in-process), commander set up the way Kafka's tools behave
 * (long options, `--help` exits 0, a bad flag prints one line and exits 1),
 * client settings from `--command-config` files and `k=v` flags, and the
 * one-line rendering of errors.
 */
import { readFile } from 'node:fs/promises';
import { Command, CommanderError, InvalidArgumentError, type Option } from 'commander';
import { parseKeyValuePairs, readPropertiesFile } from '../config/properties.js';
import { ConfigError } from '../config/errors.js';
import { AdminError, ClientClosedError, KafkaError } from '../client/index.js';

/** Where a tool reads and writes; `processIo` outside tests. */
export interface CliIo {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
  /** Calls `handler` on SIGINT/SIGTERM until the returned function is called. */
  onSignal(handler: (signal: NodeJS.Signals) => void): () => void;
}

export const processIo: CliIo = {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  onSignal(handler) {
    const onInt = () => handler('SIGINT');
    const onTerm = () => handler('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    return () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    };
  },
};

/** The exit status of a process ended by a signal, as a shell reports it (130 for SIGINT). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 1;
}

/** A failure the tool reports as one line on stderr, exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A new subcommand parser: Kafka-style long options, errors thrown (never `process.exit`). */
export function newCommand(io: CliIo, name: string, description: string): Command {
  return new Command(`ganglion ${name}`)
    .description(description)
    .helpOption('-h, --help', 'Print usage information.')
    .exitOverride()
    .allowExcessArguments(false)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // runTool prints the error itself, on one line.
      outputError: () => {},
    });
}

/** Parses argv (without the subcommand) into `program`'s options. */
export function parseArgs<T>(program: Command, argv: readonly string[]): T {
  program.parse([...argv], { from: 'user' });
  return program.opts<T & Record<string, unknown>>();
}

/** Option value collector for repeatable options (`--config a=1 --config b=2`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** An integer option value, or commander's "argument is invalid" error. */
export function intArg(value: string): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`Cannot parse '${value}' as an integer.`);
  return n;
}

/** Whether the user gave an option on the command line (not just its default). */
export function given(program: Command, attribute: string): boolean {
  const source = program.getOptionValueSource(attribute);
  return source === 'cli' || source === 'env';
}

/** The required options among `names` (attribute names) that are missing, in Kafka's message. */
export function requireOptions(program: Command, ...attributes: string[]): void {
  for (const attribute of attributes) {
    if (program.getOptionValue(attribute) === undefined) {
      const option = program.options.find((o: Option) => o.attributeName() === attribute);
      const flag = option?.long?.replace(/^--/, '') ?? attribute;
      throw new CliError(`Missing required argument "[${flag}]"`);
    }
  }
}

/** Kafka's option-conflict message. */
export function conflict(a: string, b: string): CliError {
  return new CliError(`Option "[${a}]" can't be used with option "[${b}]"`);
}

/**
 * Client settings: the properties file (`--command-config`, `--producer.config`
 * ...), then `k=v` flags in order (later wins), then `fixed` (e.g. the
 * bootstrap servers from `--bootstrap-server`).
 */
export async function clientSettings(
  file: string | undefined,
  pairs: readonly string[] | undefined,
  fixed: Record<string, string | undefined> = {},
): Promise<Record<string, string>> {
  const settings: Record<string, string> = {};
  if (file !== undefined) for (const [k, v] of await readPropertiesFile(file)) settings[k] = v;
  for (const [k, v] of parseKeyValuePairs(pairs ?? [])) settings[k] = v;
  for (const [k, v] of Object.entries(fixed)) if (v !== undefined) settings[k] = v;
  return settings;
}

/** A file a tool was told to read (a JSON plan, a partition list), as text; a CliError naming it if it cannot be read. */
export async function readTextFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(`Unable to read ${path}: ${(error as Error).message}`);
  }
}

/** `k=v` pairs from repeated flags, as a map (`--property print.key=true`). */
export function keyValues(pairs: readonly string[] | undefined): Map<string, string> {
  return parseKeyValuePairs(pairs ?? []);
}

/** The text of an error for a one-line report: Kafka's detail without stack or class noise. */
export function describeError(error: unknown): string {
  if (error instanceof AdminError) {
    const first = error.failures[0];
    const more = error.failures.length > 1 ? ` (and ${error.failures.length - 1} more)` : '';
    return first === undefined ? error.message : `${kafkaText(first.error)}${more}`;
  }
  if (error instanceof KafkaError) return kafkaText(error);
  if (error instanceof ConfigError) return error.message.replace(/\n\s*/g, '; ');
  if (error instanceof ClientClosedError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A broker error's message; when its detail only names the resource, the error name and Kafka's meaning instead. */
function kafkaText(error: KafkaError): string {
  if (/\s/.test(error.detail)) return error.detail;
  return `${error.errorName}: ${new KafkaError(error.code).detail}`;
}

function commanderLine(error: CommanderError): string {
  return error.message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ')
    .replace(/^error: /, '');
}

/**
 * Runs a tool body: `--help` exits 0, a bad flag or any failure prints one
 * line on stderr (prefixed with `prefix`, Kafka's wording for that tool)
 * and exits 1.
 */
export async function runTool(io: CliIo, name: string, body: () => Promise<number>, prefix?: string): Promise<number> {
  // A reader that goes away (`| head`) must not crash the tool with an unhandled 'error' event.
  const ignore = () => {};
  io.stdout.on('error', ignore);
  try {
    return await body();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPIPE') return 0;
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0;
      io.stderr.write(`ganglion ${name}: ${commanderLine(error)} (see --help)\n`);
      return 1;
    }
    if (error instanceof CliError) {
      io.stderr.write(`${error.message}\n`);
      return error.exitCode;
    }
    io.stderr.write(`${prefix ?? `ganglion ${name}: `}${describeError(error)}\n`);
    return 1;
  } finally {
    io.stdout.off('error', ignore);
  }
}

/** Writes to a stream, waiting for 'drain' when its buffer is full (rejects if the stream fails or closes first). */
export function writeOut(stream: NodeJS.WritableStream, chunk: string | Buffer): Promise<void> {
  if (stream.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (error: Error) => done(error);
    const onClose = () => done(new Error('output closed'));
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/** Kafka's log4j console timestamp: `[2024-05-01 12:00:00,123]` (local time). */
export function logTimestamp(date = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `[${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ${p(date.getHours())}:${p(date.getMinutes())}:${p(
    date.getSeconds(),
  )},${p(date.getMilliseconds(), 3)}]`;
}

/** Kafka's IncludeList: a Java regex (commas mean "or"), matched against the whole topic name. */
export function includeList(pattern: string): RegExp {
  const cleaned = pattern.trim().replace(/,/g, '|').replace(/ /g, '').replace(/^["']+/, '').replace(/["']+$/, '');
  try {
    return new RegExp(`^(?:${cleaned})$`);
  } catch (error) {
    throw new CliError(`Invalid topic regular expression '${pattern}': ${(error as Error).message}`);
  }
}

/** Internal topics by name (Kafka's Topic.isInternal). */
export function isInternalTopic(topic: string): boolean {
  return topic === '__consumer_offsets' || topic === '__transaction_state' || topic === '__share_group_state';
}
