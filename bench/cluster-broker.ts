/**
 * `ganglion server-start` with a chosen log level, for the cluster bench's
 * --broker-log-level (server-start itself logs at info): the same
 * arguments (a properties file, `--override k=v`...), the same process
 * settings as bin/ganglion.js, and SIGTERM / SIGINT close the broker (a
 * controlled shutdown in cluster mode) as server-start does.
 *
 *   node dist/bench/cluster-broker.js LEVEL server.properties [--override k=v]...
 */
import { startBroker } from '../src/broker/broker.js';
import { parseKeyValuePairs } from '../src/config/index.js';
import type { LogLevel } from '../src/logging.js';
import { tuneForBufferChurn } from '../src/network/buffer-memory.js';

async function main(): Promise<void> {
  const [level, configFile, ...rest] = process.argv.slice(2);
  const overrides: string[] = [];
  for (let i = 0; i < rest.length; i += 2) {
    if (rest[i] !== '--override' || rest[i + 1] === undefined) throw new Error(`expected --override key=value, got ${rest[i]}`);
    overrides.push(rest[i + 1]!);
  }
  tuneForBufferChurn();
  const broker = await startBroker({ configFile, overrides: Object.fromEntries(parseKeyValuePairs(overrides)), logLevel: level as LogLevel });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await broker.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`cluster-broker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
