/**
 * `ganglion configs`, the counterpart of kafka-configs.sh for topics and
 * brokers: `--describe` prints the dynamic configs (or all of them with
 * `--all`) with their sensitivity and synonyms; `--alter --add-config
 * k=v,k2=[a,b] --delete-config k` changes them with
 * IncrementalAlterConfigs.
 */
import { Admin, type AlterConfigOp, type ConfigEntry, type ConfigResourceType, type ConfigSource } from '../client/index.js';
import { readPropertiesFile } from '../config/properties.js';
import {
  CliError,
  clientSettings,
  collect,
  newCommand,
  parseArgs,
  processIo,
  runTool,
  type CliIo,
} from './common.js';

interface ConfigsOptions {
  bootstrapServer?: string;
  bootstrapController?: string;
  commandConfig?: string;
  entityType?: string[];
  entityName?: string[];
  entityDefault?: boolean;
  topic?: string;
  broker?: string;
  brokerDefaults?: boolean;
  brokerLogger?: string;
  describe?: boolean;
  alter?: boolean;
  all?: boolean;
  addConfig?: string;
  addConfigFile?: string;
  deleteConfig?: string[];
  force?: boolean;
  zookeeper?: string;
}

const KNOWN_TYPES = ['topics', 'clients', 'users', 'brokers', 'broker-loggers', 'ips', 'client-metrics', 'groups'];
const RESOURCE: Record<string, ConfigResourceType> = { topics: 'topic', brokers: 'broker', 'broker-loggers': 'broker-logger' };

export async function configs(argv: string[], io: CliIo = processIo): Promise<number> {
  const prefix = `Error while executing config command with args '${argv.join(' ')}': `;
  return runTool(io, 'configs', () => runConfigs(argv, io), prefix);
}

/** `--add-config k1=v1,k2=[a,b]`: commas inside [] belong to the value; brackets are dropped. */
export function parseAddConfig(text: string): Map<string, string> {
  const result = new Map<string, string>();
  const outsideBrackets = '(?=[^\\]]*(?:\\[|$))';
  for (const pair of text.split(new RegExp(`,${outsideBrackets}`))) {
    const parts = pair.split(new RegExp(`\\s*=\\s*${outsideBrackets}`));
    if (parts.length !== 2) {
      throw new CliError('requirement failed: Invalid entity config: all configs to be added must be in the format "key=val".');
    }
    result.set(parts[0]!.trim(), parts[1]!.replace(/[[\]]/g, '').trim());
  }
  return result;
}

async function runConfigs(argv: string[], io: CliIo): Promise<number> {
  const program = newCommand(io, 'configs', 'Describe and alter topic and broker configs (kafka-configs.sh).')
    .option('--bootstrap-server <server>', 'The Kafka server to connect to.')
    .option('--bootstrap-controller <server>', 'Not supported (no separate controllers); use --bootstrap-server.')
    .option('--command-config <file>', 'Property file containing configs to be passed to the admin client.')
    .option('--entity-type <type>', 'Type of entity: topics, brokers (broker-loggers; clients, users, ips, client-metrics, groups are not supported).', collect)
    .option('--entity-name <name>', 'Name of entity (topic name, broker id).', collect)
    .option('--entity-default', 'Default entity name for brokers (the cluster-wide default).')
    .option('--topic <topic>', 'The topic; same as --entity-type topics --entity-name <topic>.')
    .option('--broker <id>', 'The broker id; same as --entity-type brokers --entity-name <id>.')
    .option('--broker-defaults', 'The cluster-wide broker defaults; same as --entity-type brokers --entity-default.')
    .option('--broker-logger <id>', 'The broker id for its loggers; same as --entity-type broker-loggers --entity-name <id>.')
    .option('--describe', 'List configs for the given entity.')
    .option('--alter', 'Alter the configuration for the entity.')
    .option('--all', 'List all configs for the given entity, including static and default ones.')
    .option('--add-config <configs>', 'Key value pairs of configs to add: k1=v1,k2=[v1,v2,v2],k3=v3.')
    .option('--add-config-file <file>', 'Path to a properties file with configs to add.')
    .option('--delete-config <names>', 'Config keys to remove: k1,k2 (repeatable).', collect)
    .option('--force', 'Accepted for compatibility; ignored.')
    .option('--zookeeper <urls>', 'No longer supported; use --bootstrap-server.');
  const opts = parseArgs<ConfigsOptions>(program, argv);

  if (opts.zookeeper !== undefined) throw new CliError('--zookeeper is no longer supported; use --bootstrap-server.');
  if (Number(Boolean(opts.describe)) + Number(Boolean(opts.alter)) !== 1) {
    throw new CliError('Command must include exactly one action: --describe, --alter');
  }
  if (opts.bootstrapController !== undefined) {
    throw new CliError('--bootstrap-controller is not supported: Ganglion has no separate controller listener; use --bootstrap-server.');
  }
  if (opts.bootstrapServer === undefined) {
    throw new CliError('One of the required --bootstrap-server or --bootstrap-controller arguments must be specified');
  }

  // The entity: --entity-type/--entity-name, or a shorthand.
  const types = [...(opts.entityType ?? [])];
  const names = [...(opts.entityName ?? [])];
  if (opts.topic !== undefined) types.push('topics'), names.push(opts.topic);
  if (opts.broker !== undefined) types.push('brokers'), names.push(opts.broker);
  if (opts.brokerLogger !== undefined) types.push('broker-loggers'), names.push(opts.brokerLogger);
  const entityDefault = opts.entityDefault || opts.brokerDefaults;
  if (opts.brokerDefaults) types.push('brokers');
  if (types.length === 0) throw new CliError('At least one entity type must be specified');
  if (new Set(types).size > 1 || names.length > 1) throw new CliError('Only one entity can be described or altered at a time.');
  const entityType = types[0]!;
  if (!KNOWN_TYPES.includes(entityType)) {
    throw new CliError(`Invalid entity type ${entityType}, the entity type must be one of ${KNOWN_TYPES.join(', ')}`);
  }
  const resourceType = RESOURCE[entityType];
  if (resourceType === undefined) throw new CliError(`Entity type ${entityType} is not supported by Ganglion yet (topics, brokers, broker-loggers are).`);
  if (entityDefault && entityType !== 'brokers') throw new CliError(`--entity-default is not supported for ${entityType}`);
  if (entityDefault && names.length > 0) throw new CliError('--entity-name and --entity-default cannot be used together');
  let entityName: string | undefined = entityDefault ? '' : names[0];
  if ((entityType === 'brokers' || entityType === 'broker-loggers') && entityName !== undefined && entityName !== '') {
    if (!/^\d+$/.test(entityName)) {
      throw new CliError(`The entity name for ${entityType} must be a valid integer broker id, but it is: ${entityName}`);
    }
  }
  if (opts.all && !opts.describe) throw new CliError('--all option can only be used with --describe');

  const settings = await clientSettings(opts.commandConfig, [], { 'bootstrap.servers': opts.bootstrapServer });
  const admin = new Admin(settings);
  try {
    if (opts.describe) {
      await describe(admin, io, entityType, resourceType, entityName, opts.all === true);
      return 0;
    }
    if (entityName === undefined) throw new CliError(`an entity name must be specified with --alter of ${entityType}`);
    const add = opts.addConfig !== undefined ? parseAddConfig(opts.addConfig) : new Map<string, string>();
    if (opts.addConfigFile !== undefined) for (const [k, v] of await readPropertiesFile(opts.addConfigFile)) add.set(k, v);
    const remove = (opts.deleteConfig ?? []).flatMap((d) => d.split(',')).map((d) => d.trim()).filter((d) => d !== '');
    if (add.size === 0 && remove.length === 0) {
      throw new CliError('At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter');
    }
    const both = remove.filter((k) => add.has(k));
    if (both.length > 0) throw new CliError(`Invalid config(s): ${both.join(',')} cannot be both added and deleted`);
    if (remove.length > 0) {
      const current = await dynamicEntries(admin, resourceType, entityName, false, false);
      const missing = remove.filter((k) => !current.some((e) => e.name === k));
      if (missing.length > 0) throw new CliError(`Invalid config(s): ${missing.join(',')}`);
    }
    const ops: AlterConfigOp[] = [
      ...remove.map((name) => ({ name, op: 'delete' as const })),
      ...[...add].map(([name, value]) => ({ name, op: 'set' as const, value })),
    ];
    await admin.incrementalAlterConfigs([{ type: resourceType, name: entityName, ops }]);
    io.stdout.write(
      entityName !== ''
        ? `Completed updating config for ${entityType.slice(0, -1)} ${entityName}.\n`
        : `Completed updating default config for ${entityType} in the cluster.\n`,
    );
    return 0;
  } finally {
    await admin.close();
  }
}

function dynamicSource(type: ConfigResourceType, name: string): ConfigSource {
  if (type === 'topic') return 'DYNAMIC_TOPIC_CONFIG';
  if (type === 'broker-logger') return 'DYNAMIC_BROKER_LOGGER_CONFIG';
  return name === '' ? 'DYNAMIC_DEFAULT_BROKER_CONFIG' : 'DYNAMIC_BROKER_CONFIG';
}

async function dynamicEntries(admin: Admin, type: ConfigResourceType, name: string, synonyms: boolean, all: boolean): Promise<ConfigEntry[]> {
  const [description] = await admin.describeConfigs([{ type, name }], { includeSynonyms: synonyms });
  const source = dynamicSource(type, name);
  return description!.entries
    .filter((e) => all || e.source === source)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function describe(
  admin: Admin,
  io: CliIo,
  entityType: string,
  type: ConfigResourceType,
  entityName: string | undefined,
  all: boolean,
): Promise<void> {
  let entities: string[];
  if (entityName !== undefined) entities = [entityName];
  else if (type === 'topic') entities = await admin.listTopics({ listInternal: true });
  else entities = [...(await admin.describeCluster()).brokers.map((b) => String(b.nodeId)), ''];

  for (const entity of entities) {
    const lines: string[] = [];
    if (entity === '') lines.push(`Default configs for ${entityType} in the cluster are:`);
    else lines.push(`${all ? 'All' : 'Dynamic'} configs for ${entityType.slice(0, -1)} ${entity} are:`);
    for (const e of await dynamicEntries(admin, type, entity, true, all)) {
      const synonyms = e.synonyms.map((s) => `${s.source}:${s.name}=${s.value}`).join(', ');
      lines.push(`  ${e.name}=${e.value} sensitive=${e.isSensitive} synonyms={${synonyms}}`);
    }
    io.stdout.write(`${lines.join('\n')}\n`);
  }
}
