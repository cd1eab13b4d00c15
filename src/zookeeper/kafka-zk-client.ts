/**
 * Kafka's cluster state in ZooKeeper: its paths, shapes (zk-data.ts) and the
 * operations the controller, the brokers and the tools make (KafkaZkClient
 * in Kafka). Controller writes are fenced by a `check` on `/controller_epoch`
 * inside the same `multi`. Unreadable JSON is logged with its path and read
 * as absent, never a crash.
 */
import type { BrokerRegistration, ProducerIdBlock } from '../controller/types.js';
import type { Logger } from '../logging.js';
import type { Uuid } from '../protocol/primitives.js';
import {
  ZkBadVersionError,
  ZkDataError,
  BrokerIdInUseError,
  TopicExistsError,
  type ControllerEpoch,
  type KafkaZkOperations,
  type LeaderIsrState,
  type ReassignmentEntry,
  type TopicAssignment,
  type ZkWatcher,
} from './types.js';
import * as data from './zk-data.js';
import { ZkPaths as P } from './zk-data.js';
import { ZkError, ZkSession, isZkError, type ZkOp, type ZkSessionOptions, type ZkStat } from './zk-session.js';

export class KafkaZkClient implements KafkaZkOperations {
  private readonly logger: Logger;

  constructor(
    readonly session: ZkSession,
    logger: Logger,
  ) {
    this.logger = logger.child({ component: 'kafka-zk' });
  }

  static async connect(options: ZkSessionOptions): Promise<KafkaZkClient> {
    return new KafkaZkClient(await ZkSession.connect(options), options.logger);
  }

  async ensurePersistentPaths(): Promise<void> {
    for (const path of data.PERSISTENT_PATHS) await this.session.mkdirp(path);
  }

  async getOrCreateClusterId(proposed: string): Promise<string> {
    for (;;) {
      const node = await this.read(P.clusterId);
      // A corrupt cluster id cannot be skipped: the broker must not guess one.
      if (node) return data.parseClusterId(P.clusterId, node.data);
      try {
        await this.session.mkdirp('/cluster');
        await this.session.create(P.clusterId, data.encodeClusterId(proposed));
        return proposed;
      } catch (error) {
        if (!isZkError(error, 'NODE_EXISTS')) throw error;
      }
    }
  }

  // ---- brokers

  async registerBroker(broker: BrokerRegistration): Promise<void> {
    const path = P.broker(broker.brokerId);
    const payload = data.encodeBrokerRegistration(broker, Date.now());
    for (;;) {
      try {
        await this.session.create(path, payload, 'ephemeral');
        this.logger.info('registered broker in ZooKeeper', { path });
        return;
      } catch (error) {
        if (isZkError(error, 'NO_NODE')) {
          await this.session.mkdirp(P.brokerIds);
          continue;
        }
        if (!isZkError(error, 'NODE_EXISTS')) throw error;
      }
      // Kafka's checked ephemeral create: a node of our own current session
      // means an earlier attempt succeeded though its answer was lost.
      const stat = await this.session.exists(path);
      if (stat === null) continue;
      if (stat.ephemeralOwner === this.session.sessionId) return;
      throw new BrokerIdInUseError(broker.brokerId);
    }
  }

  async getBrokerIds(watcher?: ZkWatcher): Promise<number[]> {
    return numericChildren(await this.children(P.brokerIds, watcher));
  }

  async getBroker(brokerId: number): Promise<BrokerRegistration | null> {
    const path = P.broker(brokerId);
    return this.parsed(path, await this.read(path), (d) => data.parseBrokerRegistration(path, brokerId, d));
  }

  // ---- controller

  async getControllerId(watcher?: ZkWatcher): Promise<number | null> {
    // An existence watch fires on creation too, which a data watch would miss.
    if (watcher && (await this.session.exists(P.controller, watcher)) === null) return null;
    return this.parsed(P.controller, await this.read(P.controller), (d) => data.parseController(P.controller, d));
  }

  async tryElectController(brokerId: number): Promise<ControllerEpoch | null> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const current = await this.currentControllerEpoch();
      const next = current.epoch + 1;
      try {
        const results = await this.session.multi([
          { op: 'create', path: P.controller, data: data.encodeController(brokerId, Date.now()), mode: 'ephemeral' },
          { op: 'setData', path: P.controllerEpoch, data: data.encodeControllerEpoch(next), version: current.zkVersion },
        ]);
        const zkVersion = results[1]?.stat?.version ?? current.zkVersion + 1;
        this.logger.info('elected controller', { brokerId, epoch: next, zkVersion });
        return { epoch: next, zkVersion };
      } catch (error) {
        if (isZkError(error, 'NODE_EXISTS')) return this.ourOwnControllerEpoch(brokerId);
        if (!isZkError(error, 'BAD_VERSION')) throw error;
        // Another broker bumped the epoch between our read and our write: re-read once.
      }
    }
    return null;
  }

  async getControllerEpoch(): Promise<ControllerEpoch | null> {
    const node = await this.read(P.controllerEpoch);
    return this.parsed(P.controllerEpoch, node, (d) => ({ epoch: data.parseControllerEpoch(P.controllerEpoch, d), zkVersion: node!.stat.version }));
  }

  // ---- topics and partitions

  getTopics(watcher?: ZkWatcher): Promise<string[]> {
    return this.children(P.topics, watcher);
  }

  async getTopicAssignment(topic: string, watcher?: ZkWatcher): Promise<TopicAssignment | null> {
    const path = P.topic(topic);
    const node = await this.read(path, watcher);
    return this.parsed(path, node, (d) => data.parseTopicAssignment(path, topic, d, node!.stat.version));
  }

  async createTopic(topic: string, topicId: Uuid, partitions: Map<number, number[]>, configs: Record<string, string>): Promise<void> {
    const path = P.topic(topic);
    // As Kafka's AdminZkClient: refuse before touching the config of a live or dying topic.
    if ((await this.session.exists(path)) !== null) throw new TopicExistsError(topic);
    if ((await this.session.exists(P.deleteTopic(topic))) !== null) throw new TopicExistsError(topic);
    await this.writeTopicConfig(topic, configs);
    const assignment = { topicId, partitions, addingReplicas: new Map(), removingReplicas: new Map() };
    try {
      await this.session.create(path, data.encodeTopicAssignment(assignment));
    } catch (error) {
      if (isZkError(error, 'NODE_EXISTS')) throw new TopicExistsError(topic);
      throw error;
    }
  }

  async setTopicAssignment(assignment: TopicAssignment, expectedZkVersion: number, epoch?: ControllerEpoch): Promise<number> {
    const path = P.topic(assignment.topic);
    const ops: ZkOp[] = [{ op: 'setData', path, data: data.encodeTopicAssignment(assignment), version: expectedZkVersion }];
    const results = await this.write(ops, epoch);
    return results[results.length - 1]?.stat?.version ?? expectedZkVersion + 1;
  }

  async getPartitionState(topic: string, partition: number): Promise<LeaderIsrState | null> {
    const path = P.partitionState(topic, partition);
    const node = await this.read(path);
    return this.parsed(path, node, (d) => data.parseLeaderIsrState(path, d, node!.stat.version));
  }

  async createPartitionStates(
    topic: string,
    states: Map<number, Omit<LeaderIsrState, 'zkVersion'>>,
    epoch: ControllerEpoch,
  ): Promise<Map<number, LeaderIsrState>> {
    // The parents are plain structure (Kafka creates them unfenced); the states are fenced.
    for (const partition of states.keys()) await this.session.mkdirp(P.partition(topic, partition));
    const created = new Map<number, LeaderIsrState>();
    await Promise.all(
      [...states].map(async ([partition, state]) => {
        const path = P.partitionState(topic, partition);
        try {
          await this.write([{ op: 'create', path, data: data.encodeLeaderIsrState(state) }], epoch);
          created.set(partition, { ...state, zkVersion: 0 });
        } catch (error) {
          // Kafka leaves such a partition alone (its state machine marks it failed).
          if (!isZkError(error, 'NODE_EXISTS')) throw error;
          this.logger.warn('partition state exists already; not initialised', { path });
        }
      }),
    );
    return created;
  }

  async updatePartitionStates(topic: string, states: Map<number, LeaderIsrState>, epoch: ControllerEpoch): Promise<Map<number, LeaderIsrState>> {
    const entries = [...states];
    const ops: ZkOp[] = entries.map(([partition, state]) => ({
      op: 'setData',
      path: P.partitionState(topic, partition),
      data: data.encodeLeaderIsrState(state),
      version: state.zkVersion,
    }));
    const results = await this.write(ops, epoch);
    const offset = results.length - ops.length; // the epoch check comes first
    return new Map(
      entries.map(([partition, state], i) => [partition, { ...state, zkVersion: results[offset + i]?.stat?.version ?? state.zkVersion + 1 }]),
    );
  }

  async deleteTopicNodes(topic: string, epoch: ControllerEpoch): Promise<void> {
    // Nodes can vanish while the list is gathered (a tool, a retry): gather again.
    for (let attempt = 0; ; attempt++) {
      const paths = await this.subtree(P.topic(topic));
      for (const path of [P.topicConfig(topic), P.deleteTopic(topic)]) if ((await this.session.exists(path)) !== null) paths.push(path);
      const ops: ZkOp[] = paths.map((path) => ({ op: 'remove', path }));
      if (ops.length === 0) return;
      try {
        await this.write(ops, epoch);
        return;
      } catch (error) {
        const raced = isZkError(error, 'NO_NODE') || isZkError(error, 'NOT_EMPTY');
        if (!raced || attempt >= 3) throw error;
      }
    }
  }

  // ---- deletion requests

  async markTopicForDeletion(topic: string): Promise<void> {
    try {
      await this.session.create(P.deleteTopic(topic));
    } catch (error) {
      if (!isZkError(error, 'NODE_EXISTS')) throw error;
    }
  }

  getTopicsMarkedForDeletion(watcher?: ZkWatcher): Promise<string[]> {
    return this.children(P.deleteTopics, watcher);
  }

  async unmarkTopicForDeletion(topic: string): Promise<void> {
    try {
      await this.session.remove(P.deleteTopic(topic));
    } catch (error) {
      if (!isZkError(error, 'NO_NODE')) throw error;
    }
  }

  // ---- configs

  async getTopicConfig(topic: string): Promise<Record<string, string>> {
    const path = P.topicConfig(topic);
    return this.parsed(path, await this.read(path), (d) => data.parseEntityConfig(path, d)) ?? {};
  }

  async setTopicConfig(topic: string, configs: Record<string, string>): Promise<void> {
    await this.writeTopicConfig(topic, configs);
    await this.session.create(`${P.configChanges}/${P.configChangePrefix}`, data.encodeConfigChange(`topics/${topic}`), 'persistent_sequential');
  }

  async getConfigChangeNotifications(watcher?: ZkWatcher): Promise<string[]> {
    const children = await this.children(P.configChanges, watcher);
    // The sequence suffix is zero-padded to 10 digits, so name order is creation order.
    return children.filter((c) => c.startsWith(P.configChangePrefix)).sort();
  }

  async getConfigChangeEntity(notification: string): Promise<string | null> {
    const path = `${P.configChanges}/${notification}`;
    return this.parsed(path, await this.read(path), (d) => data.parseConfigChange(path, d));
  }

  // ---- reassignment

  async getPartitionReassignment(watcher?: ZkWatcher): Promise<ReassignmentEntry[]> {
    const path = P.reassignPartitions;
    return this.parsed(path, await this.read(path, watcher), (d) => data.parseReassignment(path, d)) ?? [];
  }

  /** ZkError NODE_EXISTS while a reassignment is in progress. */
  async createPartitionReassignment(entries: ReassignmentEntry[]): Promise<void> {
    await this.session.create(P.reassignPartitions, data.encodeReassignment(entries));
  }

  async deletePartitionReassignment(epoch: ControllerEpoch): Promise<void> {
    try {
      await this.write([{ op: 'remove', path: P.reassignPartitions }], epoch);
    } catch (error) {
      if (!isZkError(error, 'NO_NODE')) throw error;
    }
  }

  // ---- producer ids

  async allocateProducerIdBlock(brokerId: number, size: number): Promise<ProducerIdBlock> {
    const path = P.producerIdBlock;
    for (;;) {
      const node = await this.read(path);
      // A corrupt block cannot be skipped: guessing could hand out ids twice.
      const previous = node ? data.parseProducerIdBlock(path, node.data) : null;
      const block: ProducerIdBlock = { brokerId, firstProducerId: previous ? previous.firstProducerId + previous.size : 0, size };
      if (!Number.isSafeInteger(block.firstProducerId + size)) throw new ZkDataError(path, 'producer ids exhausted');
      try {
        if (node) await this.session.setData(path, data.encodeProducerIdBlock(block), node.stat.version);
        else await this.session.create(path, data.encodeProducerIdBlock(block));
        return block;
      } catch (error) {
        // Another broker claimed a block between our read and our write: read again.
        if (!isZkError(error, 'BAD_VERSION') && !isZkError(error, 'NODE_EXISTS')) throw error;
      }
    }
  }

  close(): Promise<void> {
    return this.session.close();
  }

  // ---- internals

  /** The node's data and stat, or null when absent (with a watcher: an existence watch then, so creation fires it). */
  private async read(path: string, watcher?: ZkWatcher): Promise<{ data: Buffer; stat: ZkStat } | null> {
    for (;;) {
      try {
        return await this.session.getData(path, watcher);
      } catch (error) {
        if (!isZkError(error, 'NO_NODE')) throw error;
      }
      if (!watcher || (await this.session.exists(path, watcher)) === null) return null;
      // Created between the two calls: read it (the existence watch stays set, harmlessly).
    }
  }

  /** Children, or [] when the parent is absent (with a watcher: an existence watch then). */
  private async children(path: string, watcher?: ZkWatcher): Promise<string[]> {
    for (;;) {
      try {
        return await this.session.getChildren(path, watcher);
      } catch (error) {
        if (!isZkError(error, 'NO_NODE')) throw error;
      }
      if (!watcher || (await this.session.exists(path, watcher)) === null) return [];
    }
  }

  /** Parses a node, or logs and returns null when its JSON is not Kafka's. */
  private parsed<T>(path: string, node: { data: Buffer } | null, parse: (d: Buffer) => T): T | null {
    if (node === null) return null;
    try {
      return parse(node.data);
    } catch (error) {
      if (!(error instanceof ZkDataError)) throw error;
      this.logger.warn('ignoring a ZooKeeper node whose data is not Kafka\'s', { path, error: error.message });
      return null;
    }
  }

  /** A multi, fenced by the controller epoch when given; BAD_VERSION becomes ZkBadVersionError. */
  private async write(ops: ZkOp[], epoch?: ControllerEpoch) {
    const fenced: ZkOp[] = epoch ? [{ op: 'check', path: P.controllerEpoch, version: epoch.zkVersion }, ...ops] : ops;
    try {
      return await this.session.multi(fenced);
    } catch (error) {
      if (error instanceof ZkError && error.code === 'BAD_VERSION') throw new ZkBadVersionError(error.path);
      throw error;
    }
  }

  private async writeTopicConfig(topic: string, configs: Record<string, string>): Promise<void> {
    const path = P.topicConfig(topic);
    const payload = data.encodeEntityConfig(configs);
    try {
      await this.session.setData(path, payload);
    } catch (error) {
      if (!isZkError(error, 'NO_NODE')) throw error;
      await this.session.mkdirp(P.topicConfigs);
      try {
        await this.session.create(path, payload);
      } catch (createError) {
        if (!isZkError(createError, 'NODE_EXISTS')) throw createError;
        await this.session.setData(path, payload);
      }
    }
  }

  /** `/controller_epoch`, created with 0 when absent (the first controller writes 1). */
  private async currentControllerEpoch(): Promise<ControllerEpoch> {
    for (;;) {
      const node = await this.read(P.controllerEpoch);
      if (node) return { epoch: data.parseControllerEpoch(P.controllerEpoch, node.data), zkVersion: node.stat.version };
      try {
        await this.session.create(P.controllerEpoch, data.encodeControllerEpoch(0));
      } catch (error) {
        if (!isZkError(error, 'NODE_EXISTS')) throw error;
      }
    }
  }

  /**
   * `/controller` exists: normally another broker's, but it is ours when an
   * earlier election committed and its answer was lost (connection loss);
   * then we are the controller with the epoch we wrote.
   */
  private async ourOwnControllerEpoch(brokerId: number): Promise<ControllerEpoch | null> {
    const node = await this.read(P.controller);
    if (!node || node.stat.ephemeralOwner !== this.session.sessionId) return null;
    if (this.parsed(P.controller, node, (d) => data.parseController(P.controller, d)) !== brokerId) return null;
    return this.getControllerEpoch();
  }

  /** A node and all its descendants, deepest first (the order they can be removed in). */
  private async subtree(path: string): Promise<string[]> {
    let children: string[];
    try {
      children = await this.session.getChildren(path);
    } catch (error) {
      if (isZkError(error, 'NO_NODE')) return [];
      throw error;
    }
    const below: string[] = [];
    for (const child of children) below.push(...(await this.subtree(`${path}/${child}`)));
    return [...below, path];
  }
}

function numericChildren(children: string[]): number[] {
  return children
    .filter((c) => /^\d+$/.test(c))
    .map(Number)
    .sort((a, b) => a - b);
}
