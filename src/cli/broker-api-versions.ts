/**
 * `ganglion broker-api-versions`, the counterpart of
 * kafka-broker-api-versions.sh: for every broker, each API it serves with
 * its version range and the version this client would use, and the
 * client-facing APIs it does not serve as UNSUPPORTED.
 */
import { Admin, type ApiVersionInfo, type BrokerNode } from '../client/index.js';
import { apiByKey, apis } from '../protocol/messages/api-table.js';
import { CliError, clientSettings, describeError, newCommand, parseArgs, processIo, runTool, type CliIo } from './common.js';

interface ApiVersionsOptions {
  bootstrapServer?: string;
  bootstrapController?: string;
  commandConfig?: string;
}

export async function brokerApiVersions(argv: string[], io: CliIo = processIo): Promise<number> {
  return runTool(io, 'broker-api-versions', () => runBrokerApiVersions(argv, io));
}

/** Kafka's Node.toString. */
export function nodeText(b: BrokerNode): string {
  return `${b.host}:${b.port} (id: ${b.nodeId} rack: ${b.rack ?? 'null'} isFenced: false)`;
}

function apiText(a: ApiVersionInfo): string {
  const known = apiByKey(a.apiKey);
  const name = known !== undefined ? `${known.name}(${a.apiKey})` : `UNKNOWN(${a.apiKey})`;
  const range = a.minVersion === a.maxVersion ? `${a.minVersion}` : `${a.minVersion} to ${a.maxVersion}`;
  if (known === undefined) return `${name}: ${range}`;
  if (a.usableVersion >= 0) return `${name}: ${range} [usable: ${a.usableVersion}]`;
  if (known.maxVersion < a.minVersion) return `${name}: ${range} [unusable: node too new]`;
  return `${name}: ${range} [unusable: node too old]`;
}

/** The block Kafka prints for one broker: `(`, one API per line, `)`. */
export function apiVersionsText(versions: readonly ApiVersionInfo[]): string {
  const byKey = new Map<number, string>();
  for (const v of versions) byKey.set(v.apiKey, apiText(v));
  for (const api of apis) {
    if (!byKey.has(api.apiKey) && api.listeners.includes('broker')) byKey.set(api.apiKey, `${api.name}(${api.apiKey}): UNSUPPORTED`);
  }
  const lines = [...byKey].sort((a, b) => a[0] - b[0]).map(([, text]) => text);
  return `(\n\t${lines.join(',\n\t')}\n)`;
}

async function runBrokerApiVersions(argv: string[], io: CliIo): Promise<number> {
  const program = newCommand(io, 'broker-api-versions', 'Print the API versions every broker supports (kafka-broker-api-versions.sh).')
    .option('--bootstrap-server <server>', 'REQUIRED: The server to connect to.')
    .option('--bootstrap-controller <server>', 'Not supported (no separate controllers); use --bootstrap-server.')
    .option('--command-config <file>', 'A property file containing configs to be passed to the admin client.');
  const opts = parseArgs<ApiVersionsOptions>(program, argv);
  if (opts.bootstrapController !== undefined) {
    throw new CliError('--bootstrap-controller is not supported: Ganglion has no separate controller listener; use --bootstrap-server.');
  }
  if (opts.bootstrapServer === undefined) throw new CliError('Missing required argument "[bootstrap-server]"');
  const settings = await clientSettings(opts.commandConfig, [], { 'bootstrap.servers': opts.bootstrapServer });
  const admin = new Admin(settings);
  try {
    const brokers = await admin.describeApiVersions();
    const blocks = brokers
      .sort((a, b) => a.broker.nodeId - b.broker.nodeId)
      .map((b) => `${nodeText(b.broker)} -> ${apiVersionsText(b.apis)}\n`);
    io.stdout.write(blocks.join(''));
    return 0;
  } catch (error) {
    throw new CliError(`ganglion broker-api-versions: ${describeError(error)}`);
  } finally {
    await admin.close();
  }
}
