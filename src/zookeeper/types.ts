/**
 * The cluster state Kafka keeps in ZooKeeper, as Ganglion reads and writes it
 * (Kafka's paths and JSON shapes; see kafka-zk-client.ts), and the operations
 * the controller, the brokers and the tools use.
 */
import type { BrokerRegistration, ProducerIdBlock } from '../controller/types.js';
import type { Uuid } from '../protocol/primitives.js';

/** A one-shot ZooKeeper watch: called once when the watched node or its children change. */
export type ZkWatcher = () => void;

/** `/brokers/topics/<topic>`: the replica assignment. */
export interface TopicAssignment {
  topic: string;
  /** Null for topics written by tools that do not set one (old Kafka); the controller then adds one. */
  topicId: Uuid | null;
  /** Partition → replicas, preferred leader first. */
  partitions: Map<number, number[]>;
  /** Reassignment in progress: replicas being added / removed, by partition. */
  addingReplicas: Map<number, number[]>;
  removingReplicas: Map<number, number[]>;
  /** The znode version, for conditional updates. */
  zkVersion: number;
}

/** `/brokers/topics/<t>/partitions/<p>/state`. */
export interface LeaderIsrState {
  leader: number;
  leaderEpoch: number;
  isr: number[];
  controllerEpoch: number;
  /** The znode version: Kafka's partition epoch. */
  zkVersion: number;
}

/** The controller's fencing token: its epoch and the version of `/controller_epoch` it wrote. */
export interface ControllerEpoch {
  epoch: number;
  zkVersion: number;
}

export interface ReassignmentEntry {
  topic: string;
  partition: number;
  replicas: number[];
}

/** Thrown when a znode holds JSON that is not Kafka's shape; callers log it and skip the node. */
export class ZkDataError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'ZkDataError';
  }
}

/** A conditional write lost: the node's version (or the controller epoch) moved on. */
export class ZkBadVersionError extends Error {
  constructor(readonly path: string) {
    super(`${path}: the node changed since it was read (bad version)`);
    this.name = 'ZkBadVersionError';
  }
}

/** ZooKeeper could not be reached within zookeeper.connection.timeout.ms. */
export class ZkConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZkConnectionError';
  }
}

/** `/brokers/ids/<id>` exists already: another live broker has this id. */
export class BrokerIdInUseError extends Error {
  constructor(readonly brokerId: number) {
    super(`broker.id ${brokerId} is already registered in ZooKeeper (/brokers/ids/${brokerId}): another broker with this id is running`);
    this.name = 'BrokerIdInUseError';
  }
}

/** `/brokers/topics/<t>` exists already. */
export class TopicExistsError extends Error {
  constructor(readonly topic: string) {
    super(`Topic '${topic}' already exists.`);
    this.name = 'TopicExistsError';
  }
}

/**
 * Everything Ganglion does with ZooKeeper. Methods taking a watcher set a
 * one-shot watch with the read (children or data as named). Methods that
 * take a ControllerEpoch are controller writes: they commit only while that
 * epoch is current (a `multi` with a check on `/controller_epoch`), else
 * throw ZkBadVersionError.
 */
export interface KafkaZkOperations {
  /** Creates Kafka's persistent paths (/brokers/ids, /brokers/topics, /config/topics, /config/changes, /admin/delete_topics, ...). */
  ensurePersistentPaths(): Promise<void>;
  /** Reads `/cluster/id`, creating it with `proposed` when absent. */
  getOrCreateClusterId(proposed: string): Promise<string>;

  // ---- brokers
  /** Ephemeral `/brokers/ids/<id>`; BrokerIdInUseError when it exists (also a node of our own previous session). */
  registerBroker(broker: BrokerRegistration): Promise<void>;
  getBrokerIds(watcher?: ZkWatcher): Promise<number[]>;
  /** Null when the broker is gone or its JSON is unreadable (logged). */
  getBroker(brokerId: number): Promise<BrokerRegistration | null>;

  // ---- controller
  /** The active controller's broker id, or null; the watcher fires on create/delete/change of `/controller`. */
  getControllerId(watcher?: ZkWatcher): Promise<number | null>;
  /** Creates ephemeral `/controller` and bumps `/controller_epoch` atomically; null when another broker holds it. */
  tryElectController(brokerId: number): Promise<ControllerEpoch | null>;
  getControllerEpoch(): Promise<ControllerEpoch | null>;

  // ---- topics and partitions
  getTopics(watcher?: ZkWatcher): Promise<string[]>;
  /** Null when the topic is gone or unreadable (logged); the watcher is a data watch on `/brokers/topics/<t>`. */
  getTopicAssignment(topic: string, watcher?: ZkWatcher): Promise<TopicAssignment | null>;
  /** Writes `/config/topics/<t>` and then `/brokers/topics/<t>`; TopicExistsError when present. */
  createTopic(topic: string, topicId: Uuid, partitions: Map<number, number[]>, configs: Record<string, string>): Promise<void>;
  /** Conditional on `expectedZkVersion` (ZkBadVersionError); returns the new version. Controller writes pass `epoch`. */
  setTopicAssignment(assignment: TopicAssignment, expectedZkVersion: number, epoch?: ControllerEpoch): Promise<number>;
  getPartitionState(topic: string, partition: number): Promise<LeaderIsrState | null>;
  /** Creates the state znodes of new partitions (controller); returns the states with their versions. */
  createPartitionStates(topic: string, states: Map<number, Omit<LeaderIsrState, 'zkVersion'>>, epoch: ControllerEpoch): Promise<Map<number, LeaderIsrState>>;
  /** Conditional on each state's zkVersion and the controller epoch; returns the new states (new zkVersion). */
  updatePartitionStates(topic: string, states: Map<number, LeaderIsrState>, epoch: ControllerEpoch): Promise<Map<number, LeaderIsrState>>;
  /** Removes `/brokers/topics/<t>` (with its partitions), `/config/topics/<t>` and `/admin/delete_topics/<t>`. */
  deleteTopicNodes(topic: string, epoch: ControllerEpoch): Promise<void>;

  // ---- deletion requests
  markTopicForDeletion(topic: string): Promise<void>;
  getTopicsMarkedForDeletion(watcher?: ZkWatcher): Promise<string[]>;
  unmarkTopicForDeletion(topic: string): Promise<void>;

  // ---- configs
  getTopicConfig(topic: string): Promise<Record<string, string>>;
  /** Writes `/config/topics/<t>` and a `/config/changes/config_change_<seq>` notification. */
  setTopicConfig(topic: string, configs: Record<string, string>): Promise<void>;
  /** Names of `/config/changes` children, oldest first. */
  getConfigChangeNotifications(watcher?: ZkWatcher): Promise<string[]>;
  /** The entity path a notification names (`topics/<t>`), or null when unreadable or gone. */
  getConfigChangeEntity(notification: string): Promise<string | null>;

  // ---- reassignment and preferred election requests written by tools
  getPartitionReassignment(watcher?: ZkWatcher): Promise<ReassignmentEntry[]>;
  createPartitionReassignment(entries: ReassignmentEntry[]): Promise<void>;
  deletePartitionReassignment(epoch: ControllerEpoch): Promise<void>;

  // ---- producer ids
  /** Claims the next block after `/latest_producer_id_block` with a conditional write (retrying on races). */
  allocateProducerIdBlock(brokerId: number, size: number): Promise<ProducerIdBlock>;

  close(): Promise<void>;
}
