/**
 * Kafka's znode paths and JSON shapes (ZooKeeper mode, Kafka 2.8 - 3.x), so
 * Kafka's own tools and brokers can read what Ganglion writes and the other
 * way round. Encoders write what Kafka 3.x writes; parsers also accept the
 * older versions Kafka still reads. Parsers throw nothing but ZkDataError.
 */
import type { BrokerEndpoint, BrokerRegistration, ProducerIdBlock } from '../controller/types.js';
import type { Uuid } from '../protocol/primitives.js';
import { ZkDataError, type LeaderIsrState, type ReassignmentEntry, type TopicAssignment } from './types.js';

// ---- paths

export const ZkPaths = {
  brokerIds: '/brokers/ids',
  broker: (id: number) => `/brokers/ids/${id}`,
  topics: '/brokers/topics',
  topic: (topic: string) => `/brokers/topics/${topic}`,
  partitions: (topic: string) => `/brokers/topics/${topic}/partitions`,
  partition: (topic: string, partition: number) => `/brokers/topics/${topic}/partitions/${partition}`,
  partitionState: (topic: string, partition: number) => `/brokers/topics/${topic}/partitions/${partition}/state`,
  controller: '/controller',
  controllerEpoch: '/controller_epoch',
  topicConfigs: '/config/topics',
  topicConfig: (topic: string) => `/config/topics/${topic}`,
  configChanges: '/config/changes',
  /** Prefix of the sequential notification nodes under /config/changes. */
  configChangePrefix: 'config_change_',
  deleteTopics: '/admin/delete_topics',
  deleteTopic: (topic: string) => `/admin/delete_topics/${topic}`,
  reassignPartitions: '/admin/reassign_partitions',
  clusterId: '/cluster/id',
  producerIdBlock: '/latest_producer_id_block',
} as const;

/** The persistent paths a Kafka broker creates at start. */
export const PERSISTENT_PATHS: readonly string[] = [
  '/consumers',
  '/brokers/ids',
  '/brokers/topics',
  '/brokers/seqid',
  '/config/changes',
  '/config/topics',
  '/config/brokers',
  '/config/clients',
  '/config/users',
  '/admin/delete_topics',
  '/isr_change_notification',
  '/latest_producer_id_block',
  '/log_dir_event_notification',
];

// ---- JSON helpers

type Json = Record<string, unknown>;

function encode(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function parseObject(path: string, data: Buffer): Json {
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch (error) {
    throw new ZkDataError(path, `not JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ZkDataError(path, 'not a JSON object');
  return value as Json;
}

function int(path: string, obj: Json, key: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ZkDataError(path, `"${key}" is not an integer`);
  return v;
}

/** Kafka writes some longs as strings ("timestamp", "block_start"); accept both. */
function longish(path: string, obj: Json, key: string): number {
  const v = obj[key];
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new ZkDataError(path, `"${key}" is not an integer`);
  return n;
}

function intList(path: string, value: unknown, what: string): number[] {
  if (!Array.isArray(value) || !value.every((x) => typeof x === 'number' && Number.isSafeInteger(x))) {
    throw new ZkDataError(path, `${what} is not a list of integers`);
  }
  return value as number[];
}

function versionIn(path: string, obj: Json, min: number, max: number): number {
  const version = int(path, obj, 'version');
  if (version < min || version > max) throw new ZkDataError(path, `unsupported version ${version}`);
  return version;
}

function replicaMap(path: string, value: unknown, what: string): Map<number, number[]> {
  const out = new Map<number, number[]>();
  if (value === undefined || value === null) return out;
  if (typeof value !== 'object' || Array.isArray(value)) throw new ZkDataError(path, `"${what}" is not an object`);
  for (const [key, replicas] of Object.entries(value)) {
    if (!/^\d+$/.test(key)) throw new ZkDataError(path, `"${what}" has a non-numeric partition '${key}'`);
    out.set(Number(key), intList(path, replicas, `"${what}"."${key}"`));
  }
  return out;
}

function replicaObject(map: Map<number, number[]>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [partition, replicas] of [...map].sort((a, b) => a[0] - b[0])) out[String(partition)] = replicas;
  return out;
}

// ---- /brokers/ids/<id>

const BROKER_VERSION = 5;

export function encodeBrokerRegistration(broker: BrokerRegistration, timestampMs: number): Buffer {
  const plaintext = broker.endpoints.find((e) => e.securityProtocol === 'PLAINTEXT');
  const protocolMap: Record<string, string> = {};
  for (const e of broker.endpoints) protocolMap[e.listenerName] = e.securityProtocol;
  const json: Json = {
    features: {},
    listener_security_protocol_map: protocolMap,
    endpoints: broker.endpoints.map((e) => `${e.listenerName}://${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`),
    jmx_port: -1,
    port: plaintext?.port ?? -1,
    host: plaintext?.host ?? null,
    version: BROKER_VERSION,
    timestamp: String(timestampMs),
  };
  if (broker.rack !== null) json.rack = broker.rack;
  return encode(json);
}

export function parseBrokerRegistration(path: string, brokerId: number, data: Buffer): BrokerRegistration {
  const obj = parseObject(path, data);
  const version = versionIn(path, obj, 1, BROKER_VERSION);
  const rawMap = obj.listener_security_protocol_map;
  let protocolMap: Record<string, string> | null = null;
  if (rawMap !== undefined && rawMap !== null) {
    if (typeof rawMap !== 'object' || Array.isArray(rawMap) || !Object.values(rawMap).every((v) => typeof v === 'string')) {
      throw new ZkDataError(path, '"listener_security_protocol_map" is not an object of strings');
    }
    protocolMap = rawMap as Record<string, string>;
  }
  const rawEndpoints = obj.endpoints;
  if (!Array.isArray(rawEndpoints) || !rawEndpoints.every((e) => typeof e === 'string')) {
    throw new ZkDataError(path, `"endpoints" is not a list of strings (version ${version})`);
  }
  const endpoints: BrokerEndpoint[] = rawEndpoints.map((text: string) => {
    const m = /^([A-Za-z0-9_.-]+):\/\/(?:\[([^\]]*)\]|([^:/]*)):(\d+)$/.exec(text);
    if (!m) throw new ZkDataError(path, `endpoint '${text}' is not NAME://host:port`);
    const listenerName = m[1]!;
    // Before the map existed (version < 3) the listener name was the protocol.
    const securityProtocol = protocolMap ? protocolMap[listenerName] : listenerName;
    if (securityProtocol === undefined) throw new ZkDataError(path, `listener ${listenerName} has no security protocol`);
    return { listenerName, host: m[2] ?? m[3]!, port: Number(m[4]), securityProtocol };
  });
  const rack = obj.rack;
  if (rack !== undefined && rack !== null && typeof rack !== 'string') throw new ZkDataError(path, '"rack" is not a string');
  return { brokerId, rack: rack ?? null, endpoints };
}

// ---- /brokers/topics/<t>

export function encodeTopicAssignment(assignment: Omit<TopicAssignment, 'zkVersion' | 'topic'>): Buffer {
  // Version 3 carries the topic id; without one, write version 2 as Kafka 2.7 did.
  const json: Json = { version: assignment.topicId === null ? 2 : 3 };
  if (assignment.topicId !== null) json.topic_id = assignment.topicId;
  json.partitions = replicaObject(assignment.partitions);
  json.adding_replicas = replicaObject(assignment.addingReplicas);
  json.removing_replicas = replicaObject(assignment.removingReplicas);
  return encode(json);
}

export function parseTopicAssignment(path: string, topic: string, data: Buffer, zkVersion: number): TopicAssignment {
  const obj = parseObject(path, data);
  versionIn(path, obj, 1, 3);
  const topicId = obj.topic_id;
  if (topicId !== undefined && topicId !== null && (typeof topicId !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(topicId))) {
    throw new ZkDataError(path, '"topic_id" is not a base64url uuid');
  }
  if (obj.partitions === undefined) throw new ZkDataError(path, '"partitions" is missing');
  return {
    topic,
    topicId: (topicId as Uuid | undefined) ?? null,
    partitions: replicaMap(path, obj.partitions, 'partitions'),
    addingReplicas: replicaMap(path, obj.adding_replicas, 'adding_replicas'),
    removingReplicas: replicaMap(path, obj.removing_replicas, 'removing_replicas'),
    zkVersion,
  };
}

// ---- /brokers/topics/<t>/partitions/<p>/state

export function encodeLeaderIsrState(state: Omit<LeaderIsrState, 'zkVersion'>): Buffer {
  return encode({
    controller_epoch: state.controllerEpoch,
    leader: state.leader,
    version: 1,
    leader_epoch: state.leaderEpoch,
    isr: state.isr,
    leader_recovery_state: 0,
  });
}

export function parseLeaderIsrState(path: string, data: Buffer, zkVersion: number): LeaderIsrState {
  const obj = parseObject(path, data);
  versionIn(path, obj, 1, 1);
  return {
    leader: int(path, obj, 'leader'),
    leaderEpoch: int(path, obj, 'leader_epoch'),
    isr: intList(path, obj.isr, '"isr"'),
    controllerEpoch: int(path, obj, 'controller_epoch'),
    zkVersion,
  };
}

// ---- /controller and /controller_epoch

export function encodeController(brokerId: number, timestampMs: number): Buffer {
  return encode({ version: 1, brokerid: brokerId, timestamp: String(timestampMs) });
}

/** The controller's broker id (version 2 is a KRaft controller during a migration). */
export function parseController(path: string, data: Buffer): number {
  const obj = parseObject(path, data);
  versionIn(path, obj, 1, 2);
  return int(path, obj, 'brokerid');
}

export function encodeControllerEpoch(epoch: number): Buffer {
  return Buffer.from(String(epoch), 'utf8');
}

export function parseControllerEpoch(path: string, data: Buffer): number {
  const text = data.toString('utf8').trim();
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new ZkDataError(path, `'${text}' is not an epoch`);
  return Number(text);
}

// ---- /config/topics/<t> and /config/changes

export function encodeEntityConfig(configs: Record<string, string>): Buffer {
  return encode({ version: 1, config: configs });
}

export function parseEntityConfig(path: string, data: Buffer): Record<string, string> {
  const obj = parseObject(path, data);
  versionIn(path, obj, 1, 1);
  const config = obj.config;
  if (typeof config !== 'object' || config === null || Array.isArray(config) || !Object.values(config).every((v) => typeof v === 'string')) {
    throw new ZkDataError(path, '"config" is not an object of strings');
  }
  return { ...(config as Record<string, string>) };
}

export function encodeConfigChange(entityPath: string): Buffer {
  return encode({ version: 2, entity_path: entityPath });
}

/** The entity path ("topics/<t>"); version 1 named the type and the name separately. */
export function parseConfigChange(path: string, data: Buffer): string {
  const obj = parseObject(path, data);
  const version = versionIn(path, obj, 1, 2);
  if (version === 1) {
    const { entity_type: type, entity_name: name } = obj;
    if (typeof type !== 'string' || typeof name !== 'string') throw new ZkDataError(path, '"entity_type" / "entity_name" missing');
    return `${type}/${name}`;
  }
  if (typeof obj.entity_path !== 'string') throw new ZkDataError(path, '"entity_path" is not a string');
  return obj.entity_path;
}

// ---- /admin/reassign_partitions

export function encodeReassignment(entries: readonly ReassignmentEntry[]): Buffer {
  return encode({ version: 1, partitions: entries.map((e) => ({ topic: e.topic, partition: e.partition, replicas: e.replicas })) });
}

export function parseReassignment(path: string, data: Buffer): ReassignmentEntry[] {
  const obj = parseObject(path, data);
  versionIn(path, obj, 1, 1);
  if (!Array.isArray(obj.partitions)) throw new ZkDataError(path, '"partitions" is not a list');
  return obj.partitions.map((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ZkDataError(path, 'a partition entry is not an object');
    const e = entry as Json;
    if (typeof e.topic !== 'string') throw new ZkDataError(path, 'a partition entry has no "topic"');
    return { topic: e.topic, partition: int(path, e, 'partition'), replicas: intList(path, e.replicas, '"replicas"') };
  });
}

// ---- /cluster/id

export function encodeClusterId(id: string): Buffer {
  return encode({ version: '1', id });
}

export function parseClusterId(path: string, data: Buffer): string {
  const obj = parseObject(path, data);
  if (typeof obj.id !== 'string' || obj.id === '') throw new ZkDataError(path, '"id" is not a string');
  return obj.id;
}

// ---- /latest_producer_id_block

export function encodeProducerIdBlock(block: ProducerIdBlock): Buffer {
  return encode({
    version: 1,
    broker: block.brokerId,
    block_start: String(block.firstProducerId),
    block_end: String(block.firstProducerId + block.size - 1),
  });
}

/** Null for the empty node Kafka creates at start (no block handed out yet). */
export function parseProducerIdBlock(path: string, data: Buffer): ProducerIdBlock | null {
  if (data.length === 0) return null;
  const obj = parseObject(path, data);
  versionIn(path, obj, 1, 1);
  const start = longish(path, obj, 'block_start');
  const end = longish(path, obj, 'block_end');
  if (start < 0 || end < start) throw new ZkDataError(path, `block ${start}..${end} is not a range`);
  return { brokerId: int(path, obj, 'broker'), firstProducerId: start, size: end - start + 1 };
}
