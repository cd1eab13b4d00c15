/**
 * `ganglion server-start [server.properties] [--override key=value]...`,
 * the counterpart of kafka-server-start.sh. SIGTERM and SIGINT shut the
 * broker down cleanly (in-flight requests answered, logs flushed,
 * checkpoints and the clean-shutdown marker written).
 */
import { Command } from 'commander';
import { startBroker } from '../broker/broker.js';
import { parseKeyValuePairs } from '../config/index.js';

export async function serverStart(argv: string[]): Promise<number> {
  const program = new Command('ganglion server-start')
    .description('Start a Ganglion broker')
    .argument('[server.properties]', 'broker settings file')
    .option('--override <key=value>', 'override a setting of the file (repeatable)', collect, [] as string[])
    .exitOverride();
  program.parse(argv, { from: 'user' });
  const [configFile] = program.args;
  const overrides = Object.fromEntries(parseKeyValuePairs(program.opts<{ override: string[] }>().override));

  const broker = await startBroker({ configFile, overrides });
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
