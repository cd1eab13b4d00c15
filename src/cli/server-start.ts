/**
 * `ganglion server-start [server.properties] [--override key=value]...
 * [--log-level level]`, the counterpart of kafka-server-start.sh (whose log
 * level lives in log4j.properties; here it is a flag, info by default).
 * SIGTERM and SIGINT shut the broker down cleanly (in-flight requests
 * answered, logs flushed, checkpoints and the clean-shutdown marker written).
 */
import { Command, Option } from 'commander';
import { startBroker } from '../broker/broker.js';
import { parseKeyValuePairs } from '../config/index.js';
import type { LogLevel } from '../logging.js';

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

export async function serverStart(argv: string[]): Promise<number> {
  const program = new Command('ganglion server-start')
    .description('Start a Ganglion broker')
    .argument('[server.properties]', 'broker settings file')
    .option('--override <key=value>', 'override a setting of the file (repeatable)', collect, [] as string[])
    .addOption(new Option('--log-level <level>', 'lowest level of the log lines written to stderr').choices(LOG_LEVELS).default('info'))
    .exitOverride();
  program.parse(argv, { from: 'user' });
  const [configFile] = program.args;
  const opts = program.opts<{ override: string[]; logLevel: LogLevel }>();
  const overrides = Object.fromEntries(parseKeyValuePairs(opts.override));

  const broker = await startBroker({ configFile, overrides, logLevel: opts.logLevel });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`ganglion: ${signal} received, shutting down\n`);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await broker.close();
  return 0;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
