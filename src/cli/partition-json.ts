/**
 * The JSON files Kafka's partition tools read and write, with Kafka's shapes
 * and error messages:
 *
 * - reassignment plans (`kafka-reassign-partitions.sh --reassignment-json-file`):
 *   `{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any","any"]}]}`
 * - topics to move (`--topics-to-move-json-file`): `{"version":1,"topics":[{"topic":"t"}]}`
 * - election lists (`kafka-leader-election.sh --path-to-json-file`):
 *   `{"partitions":[{"topic":"t","partition":0}]}`
 */
import { CliError } from './common.js';
import type { TopicPartition } from '../client/index.js';

/** A partition's target replicas, preferred leader first. */
export interface PartitionReplicas extends TopicPartition {
  replicas: number[];
}

/** Kafka's TopicPartition.toString: `topic-partition`. */
export function tpName(tp: TopicPartition): string {
  return `${tp.topic}-${tp.partition}`;
}

/** Kafka's order for partitions in tool output: by topic, then partition number. */
export function compareTopicPartitions(a: TopicPartition, b: TopicPartition): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

/** Values that occur more than once, in first-seen order. */
export function duplicates<T>(values: readonly T[], key: (v: T) => string = String): T[] {
  const seen = new Set<string>();
  const reported = new Set<string>();
  const out: T[] = [];
  for (const v of values) {
    const k = key(v);
    if (seen.has(k) && !reported.has(k)) {
      reported.add(k);
      out.push(v);
    }
    seen.add(k);
  }
  return out;
}

function parseJson(text: string): unknown {
  if (text.trim() === '') throw new CliError('The input string is not a valid JSON');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`The input string is not a valid JSON: ${(error as Error).message}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field(obj: Record<string, unknown>, name: string, where: string): unknown {
  if (!(name in obj)) throw new CliError(`No such field exists: \`${name}\` in ${where}`);
  return obj[name];
}

function stringField(obj: Record<string, unknown>, name: string, where: string): string {
  const v = field(obj, name, where);
  if (typeof v !== 'string') throw new CliError(`Expected a string for \`${name}\` in ${where}, got ${JSON.stringify(v)}`);
  return v;
}

function intField(obj: Record<string, unknown>, name: string, where: string): number {
  const v = field(obj, name, where);
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new CliError(`Expected an integer for \`${name}\` in ${where}, got ${JSON.stringify(v)}`);
  return v;
}

function arrayField(obj: Record<string, unknown>, name: string, where: string): unknown[] {
  const v = field(obj, name, where);
  if (!Array.isArray(v)) throw new CliError(`Expected an array for \`${name}\` in ${where}, got ${JSON.stringify(v)}`);
  return v;
}

/** The `version` field: 1 (also when absent, as Kafka assumes). */
function checkVersion(doc: Record<string, unknown>): void {
  const version = doc.version ?? 1;
  if (version !== 1) throw new CliError(`Not supported version field value ${JSON.stringify(version)}`);
}

/** `--topics-to-move-json-file`: the topic names, in file order. */
export function parseTopicsToMove(text: string): string[] {
  const doc = parseJson(text);
  if (!isObject(doc)) throw new CliError('The topics to move must be a JSON object like {"version":1,"topics":[{"topic":"t"}]}');
  checkVersion(doc);
  if (doc.topics === undefined) return [];
  if (!Array.isArray(doc.topics)) throw new CliError('Expected an array for `topics`');
  return doc.topics.map((t, i) => {
    if (!isObject(t)) throw new CliError(`Expected an object at topics[${i}]`);
    return stringField(t, 'topic', `topics[${i}]`);
  });
}

/**
 * `--reassignment-json-file`: target replicas per partition. `log_dirs`, when
 * given, must have one entry per replica; only "any" is accepted, since
 * moving replicas between a broker's log directories (AlterReplicaLogDirs)
 * is not supported.
 */
export function parseReassignment(text: string): PartitionReplicas[] {
  const doc = parseJson(text);
  if (!isObject(doc)) throw new CliError('The reassignment must be a JSON object like {"version":1,"partitions":[...]}');
  checkVersion(doc);
  const partitions = doc.partitions === undefined ? [] : doc.partitions;
  if (!Array.isArray(partitions)) throw new CliError('Expected an array for `partitions`');
  return partitions.map((p, i) => {
    const where = `partitions[${i}]`;
    if (!isObject(p)) throw new CliError(`Expected an object at ${where}`);
    const topic = stringField(p, 'topic', where);
    const partition = intField(p, 'partition', where);
    const replicas = arrayField(p, 'replicas', where).map((r) => {
      if (typeof r !== 'number' || !Number.isInteger(r)) throw new CliError(`Expected broker ids in \`replicas\` of ${where}, got ${JSON.stringify(r)}`);
      return r;
    });
    if (p.log_dirs !== undefined) {
      const dirs = arrayField(p, 'log_dirs', where);
      const name = tpName({ topic, partition });
      if (dirs.length !== replicas.length) {
        throw new CliError(`Size of replicas list [${replicas.join(', ')}] is different from size of log dirs list [${dirs.join(', ')}] for partition ${name}`);
      }
      const explicit = dirs.find((d) => d !== 'any');
      if (explicit !== undefined) {
        throw new CliError(`Moving replicas between log directories is not supported by this broker version (log_dirs ${JSON.stringify(explicit)} for partition ${name}); use "any"`);
      }
    }
    return { topic, partition, replicas };
  });
}

/** Kafka's checks on a plan before it is executed. */
export function checkReassignment(plan: readonly PartitionReplicas[]): void {
  if (plan.length === 0) throw new CliError('Partition reassignment list cannot be empty');
  if (plan.some((p) => p.replicas.length === 0)) throw new CliError('Partition replica list cannot be empty');
  const dupParts = duplicates(plan, tpName);
  if (dupParts.length > 0) {
    throw new CliError(`Partition reassignment contains duplicate topic partitions: ${dupParts.map(tpName).join(',')}`);
  }
  const dupReplicas = plan
    .map((p) => ({ p, dups: duplicates(p.replicas) }))
    .filter((x) => x.dups.length > 0)
    .map((x) => `${tpName(x.p)} contains ${x.dups.join(',')}`);
  if (dupReplicas.length > 0) throw new CliError(`Partition replica lists may not contain duplicate entries: ${dupReplicas.join('. ')}`);
}

/** Kafka's reassignment JSON (compact, partitions sorted, `log_dirs` all "any"). */
export function formatReassignment(assignment: readonly PartitionReplicas[]): string {
  const partitions = [...assignment].sort(compareTopicPartitions).map((p) => ({
    topic: p.topic,
    partition: p.partition,
    replicas: p.replicas,
    log_dirs: p.replicas.map(() => 'any'),
  }));
  return JSON.stringify({ version: 1, partitions });
}

/** `--path-to-json-file` of leader-election: the partitions to elect for. */
export function parseElectionPartitions(text: string): TopicPartition[] {
  if (text.trim() === '') throw new CliError('Replica election data is empty');
  const doc = parseJson(text);
  if (!isObject(doc) || doc.partitions === undefined) throw new CliError('Replica election data is missing "partitions" field');
  if (!Array.isArray(doc.partitions)) throw new CliError('Expected an array for `partitions`');
  const partitions = doc.partitions.map((p, i) => {
    const where = `partitions[${i}]`;
    if (!isObject(p)) throw new CliError(`Expected an object at ${where}`);
    return { topic: stringField(p, 'topic', where), partition: intField(p, 'partition', where) };
  });
  const dups = duplicates(partitions, tpName);
  if (dups.length > 0) throw new CliError(`Replica election data contains duplicate partitions: ${dups.map(tpName).join(',')}`);
  return partitions;
}
