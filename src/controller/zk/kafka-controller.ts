/**
 * The active controller of a ZooKeeper cluster (Kafka's KafkaController).
 * Every broker runs one; it is active only while its broker holds the
 * ephemeral `/controller` node. Everything it does runs as events on one
 * serial queue, so its view of the cluster (ControllerContext) never changes
 * under an event's feet: ZooKeeper watches, requests from brokers and
 * clients, and timers all enqueue.
 *
 * Its writes to ZooKeeper carry its epoch (a conditional `multi`), so a
 * controller that lost its seat can never overwrite its successor's
 * decisions; when a write is refused for that reason it steps down.
 */
import type { BrokerConfig } from '../../config/index.js';
import { resolveTopicConfig } from '../../config/index.js';
import { withDeadline } from '../../deadline.js';
import type { Logger } from '../../logging.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import type { Uuid } from '../../protocol/primitives.js';
import { ZkBadVersionError, type ControllerEpoch, type KafkaZkOperations, type LeaderIsrState } from '../../zookeeper/types.js';
import { randomUuid } from '../uuid.js';
import { ControllerChannel } from './controller-channel.js';
import { ControllerContext, type TopicContext } from './controller-context.js';
import { ControllerRequestBatch } from './controller-requests.js';
import {
  electControlledShutdownLeader,
  electOfflineLeader,
  electPreferredLeader,
  electReassignmentLeader,
  type Election,
} from './leader-election.js';

export interface KafkaControllerOptions {
  brokerId: number;
  zk: KafkaZkOperations & { readonly session?: { onNewSession(listener: () => void): void } };
  config: BrokerConfig;
  logger: Logger;
}

export type ElectionType = 'PREFERRED' | 'UNCLEAN';

export interface PartitionRef {
  topic: string;
  partition: number;
}

export interface PartitionResult extends PartitionRef {
  errorCode: number;
  errorMessage: string | null;
}

export interface AlterIsrItem {
  /** Name, or id when the request used ids (AlterPartition v2+). */
  topic: string | null;
  topicId: Uuid | null;
  partition: number;
  leaderEpoch: number;
  partitionEpoch: number;
  newIsr: number[];
}

export interface AlterIsrResult {
  errorCode: number;
  leader: number;
  leaderEpoch: number;
  isr: number[];
  partitionEpoch: number;
}

export interface OngoingReassignment extends PartitionRef {
  replicas: number[];
  adding: number[];
  removing: number[];
}

type StateChange = Pick<LeaderIsrState, 'leader' | 'isr'> & { bumpEpoch: boolean };

export class KafkaController {
  private readonly context = new ControllerContext();
  private readonly batch: ControllerRequestBatch;
  private channel: ControllerChannel | null = null;
  private epoch: ControllerEpoch | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private rebalanceTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly logger: Logger;

  constructor(private readonly options: KafkaControllerOptions) {
    this.logger = options.logger.child({ component: 'controller' });
    this.batch = new ControllerRequestBatch({
      controllerId: options.brokerId,
      listenerName: options.config.interBrokerListenerName,
      logger: this.logger,
    });
  }

  get isActive(): boolean {
    return this.epoch !== null;
  }

  /** The epoch this controller won, or -1 when it is not active. */
  get controllerEpoch(): number {
    return this.epoch?.epoch ?? -1;
  }

  /** Joins the election now and again on every new ZooKeeper session. */
  async startup(): Promise<void> {
    this.options.zk.session?.onNewSession(() => {
      void this.enqueue('new session', async () => {
        this.resign('the ZooKeeper session was replaced');
        await this.elect();
      });
    });
    await this.enqueue('startup', () => this.elect());
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    // An event may be waiting on a ZooKeeper that is gone (reads wait for the connection
    // to return): resign without it after a while rather than hang the broker's shutdown.
    const ms = this.options.config.zookeeperConnectionTimeoutMs;
    await withDeadline(this.enqueue('shutdown', async () => this.resign('shutting down')), ms, 'the controller event in progress').catch(
      (error: unknown) => {
        this.logger.warn('resigning without waiting for the controller event in progress', { err: String(error) });
        this.resign('shutting down');
      },
    );
  }

  // ---- requests from brokers and clients ------------------------------------------------

  /** ControlledShutdown: moves leadership off the broker; returns the partitions it still leads. */
  controlledShutdown(brokerId: number): Promise<PartitionRef[]> {
    return this.enqueueActive('controlled shutdown', async () => {
      if (!this.context.liveBrokers.has(brokerId)) {
        throw new KafkaError(ErrorCode.BROKER_NOT_AVAILABLE, `Broker ${brokerId} is not registered.`);
      }
      this.context.shuttingDown.add(brokerId);
      const live = this.context.liveBrokerIds();
      const remaining: PartitionRef[] = [];
      for (const topic of this.context.topics.values()) {
        const changes = new Map<number, StateChange>();
        for (const [index, p] of topic.partitions) {
          if (!p.state || !p.replicas.includes(brokerId) || p.replicas.length < 2) continue;
          if (p.state.leader === brokerId) {
            const election = electControlledShutdownLeader(p.replicas, p.state.isr, live, this.context.shuttingDown);
            if (election) changes.set(index, { ...election, bumpEpoch: true });
            else remaining.push({ topic: topic.name, partition: index });
          } else if (p.state.isr.includes(brokerId) && p.state.isr.length > 1) {
            changes.set(index, { leader: p.state.leader, isr: p.state.isr.filter((id) => id !== brokerId), bumpEpoch: true });
          }
        }
        await this.applyChanges(topic, changes);
      }
      this.logger.info('controlled shutdown of a broker', { brokerId, remaining: remaining.length });
      return remaining;
    });
  }

  /** AlterPartition from a leader: commits its ISR change when it is based on the current state. */
  alterPartition(brokerId: number, items: AlterIsrItem[]): Promise<AlterIsrResult[]> {
    return this.enqueueActive('alter partition', async () => {
      const live = this.context.liveBrokerIds();
      const refused = (errorCode: number): AlterIsrResult => ({ errorCode, leader: -1, leaderEpoch: -1, isr: [], partitionEpoch: -1 });
      // A refusal now, or the partition whose committed state answers the item once the changes are written.
      const outcomes: Array<AlterIsrResult | { topic: TopicContext; partition: number }> = [];
      const accepted = new Map<TopicContext, Map<number, StateChange>>();
      for (const item of items) {
        const topic = item.topicId !== null ? this.context.topicById(item.topicId) : this.context.topics.get(item.topic ?? '');
        const p = topic?.partitions.get(item.partition);
        if (!topic || !p || !p.state) outcomes.push(refused(item.topicId !== null ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
        else if (p.state.leader !== brokerId) outcomes.push(refused(ErrorCode.NOT_LEADER_OR_FOLLOWER));
        else if (item.leaderEpoch !== p.state.leaderEpoch) outcomes.push(refused(ErrorCode.FENCED_LEADER_EPOCH));
        else if (item.partitionEpoch !== p.state.zkVersion) outcomes.push(refused(ErrorCode.INVALID_UPDATE_VERSION));
        else if (!item.newIsr.includes(brokerId) || item.newIsr.some((id) => !p.replicas.includes(id) || (!live.has(id) && !p.state!.isr.includes(id)))) {
          outcomes.push(refused(ErrorCode.INELIGIBLE_REPLICA));
        } else {
          let changes = accepted.get(topic);
          if (!changes) accepted.set(topic, (changes = new Map()));
          changes.set(item.partition, { leader: brokerId, isr: item.newIsr, bumpEpoch: false });
          outcomes.push({ topic, partition: item.partition });
        }
      }
      for (const [topic, changes] of accepted) {
        // The leader learns the outcome from the response; the others from UpdateMetadata.
        await this.applyChanges(topic, changes, { notifyReplicas: false });
      }
      const results = outcomes.map((outcome): AlterIsrResult => {
        if (!('topic' in outcome)) return outcome;
        const state = outcome.topic.partitions.get(outcome.partition)!.state!;
        return { errorCode: ErrorCode.NONE, leader: state.leader, leaderEpoch: state.leaderEpoch, isr: state.isr, partitionEpoch: state.zkVersion };
      });
      // Finish the reassignments these ISR changes complete.
      for (const [topic, changes] of accepted) {
        for (const index of changes.keys()) await this.maybeCompleteReassignment(topic, index);
      }
      return results;
    });
  }

  /** ElectLeaders; `partitions` null = every partition (then partitions needing no election are left out). */
  electLeaders(type: ElectionType, partitions: PartitionRef[] | null): Promise<PartitionResult[]> {
    return this.enqueueActive('elect leaders', async () => {
      const refs = partitions ?? [...this.context.allPartitions()].map(([t, index]) => ({ topic: t.name, partition: index }));
      const live = this.context.liveBrokerIds();
      const results: PartitionResult[] = [];
      const byTopic = new Map<TopicContext, Map<number, StateChange>>();
      for (const ref of refs) {
        const topic = this.context.topics.get(ref.topic);
        const p = topic?.partitions.get(ref.partition);
        const result = (errorCode: number, errorMessage: string | null = null): void => {
          results.push({ ...ref, errorCode, errorMessage });
        };
        if (!topic || !p) {
          result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The partition ${ref.topic}-${ref.partition} does not exist.`);
          continue;
        }
        let election: Election | null;
        if (type === 'PREFERRED') {
          if (p.state && p.state.leader === p.replicas[0]) {
            if (partitions !== null) result(ErrorCode.ELECTION_NOT_NEEDED, 'Leader election not needed for topic partition.');
            continue;
          }
          election = p.state ? electPreferredLeader(p.replicas, p.state.isr, live) : null;
          if (!election) {
            result(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, `Failed to elect leader for partition ${ref.topic}-${ref.partition} under strategy PreferredReplicaPartitionLeaderElectionStrategy`);
            continue;
          }
        } else {
          if (p.state && p.state.leader >= 0 && live.has(p.state.leader)) {
            if (partitions !== null) result(ErrorCode.ELECTION_NOT_NEEDED, 'Leader election not needed for topic partition.');
            continue;
          }
          election = electOfflineLeader(p.replicas, p.state?.isr ?? [], live, true);
          if (!election) {
            result(ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, `Failed to elect leader for partition ${ref.topic}-${ref.partition}: no replica is live.`);
            continue;
          }
        }
        let changes = byTopic.get(topic);
        if (!changes) byTopic.set(topic, (changes = new Map()));
        changes.set(ref.partition, { ...election, bumpEpoch: true });
        result(ErrorCode.NONE);
      }
      for (const [topic, changes] of byTopic) await this.applyChanges(topic, changes);
      return results;
    });
  }

  /** AlterPartitionReassignments: `replicas` null cancels a partition's reassignment. */
  alterReassignments(entries: Array<PartitionRef & { replicas: number[] | null }>): Promise<PartitionResult[]> {
    return this.enqueueActive('alter reassignments', async () => {
      const results: PartitionResult[] = [];
      for (const entry of entries) {
        const { topic: name, partition, replicas } = entry;
        const ref = { topic: name, partition };
        try {
          const topic = this.context.topics.get(name);
          const p = topic?.partitions.get(partition);
          if (!topic || !p) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic partition ${name}-${partition} does not exist.`);
          if (replicas === null) {
            if (p.adding.length === 0 && p.removing.length === 0) {
              throw new KafkaError(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, `There is no reassignment in progress for ${name}-${partition}.`);
            }
            await this.startReassignment(topic, partition, p.replicas.filter((id) => !p.adding.includes(id)));
          } else {
            this.checkTargetReplicas(replicas);
            await this.startReassignment(topic, partition, replicas);
          }
          results.push({ ...ref, errorCode: ErrorCode.NONE, errorMessage: null });
        } catch (error) {
          if (!(error instanceof KafkaError)) throw error;
          results.push({ ...ref, errorCode: error.code, errorMessage: error.detail ?? error.message });
        }
      }
      return results;
    });
  }

  listReassignments(partitions: PartitionRef[] | null): Promise<OngoingReassignment[]> {
    return this.enqueueActive('list reassignments', async () => {
      const wanted = partitions === null ? null : new Set(partitions.map((r) => `${r.topic}\u0000${r.partition}`));
      const ongoing: OngoingReassignment[] = [];
      for (const [topic, index, p] of this.context.allPartitions()) {
        if (p.adding.length === 0 && p.removing.length === 0) continue;
        if (wanted && !wanted.has(`${topic.name}\u0000${index}`)) continue;
        ongoing.push({ topic: topic.name, partition: index, replicas: p.replicas, adding: p.adding, removing: p.removing });
      }
      return ongoing;
    });
  }

  // ---- the event queue -------------------------------------------------------------------

  private enqueue<T>(name: string, event: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      try {
        return await event();
      } finally {
        if (this.epoch && this.channel) this.batch.flush(this.context, this.epoch.epoch, this.channel);
      }
    });
    this.queue = run.catch(async (error: unknown) => {
      this.logger.error('controller event failed', { event: name, err: String(error) });
      if (error instanceof ZkBadVersionError && this.epoch) await this.recheckSeat();
    });
    return run;
  }

  /** An event that only the active controller may run; others answer NOT_CONTROLLER. */
  private enqueueActive<T>(name: string, event: () => Promise<T>): Promise<T> {
    return this.enqueue(name, async () => {
      if (!this.epoch) throw new KafkaError(ErrorCode.NOT_CONTROLLER, `Broker ${this.options.brokerId} is not the controller.`);
      return event();
    });
  }

  /** Runs `event` on the queue if this controller is (still) active; watches and timers use it. */
  private onEvent(name: string, event: () => Promise<void>): void {
    void this.enqueue(name, async () => {
      if (this.epoch) await event();
    }).catch(() => undefined);
  }

  // ---- election ----------------------------------------------------------------------------

  private async elect(): Promise<void> {
    if (this.closed) return;
    const { zk, brokerId } = this.options;
    const current = await zk.getControllerId(() => void this.enqueue('controller changed', () => this.elect()).catch(() => undefined));
    if (current !== null) {
      if (current !== brokerId && this.epoch) this.resign(`broker ${current} is the controller now`);
      return;
    }
    const won = await zk.tryElectController(brokerId);
    if (!won) return; // someone else won; the watch above brings us back if it goes
    await this.becomeActive(won);
  }

  /** A refused conditional write: if another controller has taken over, step down. */
  private async recheckSeat(): Promise<void> {
    const epoch = await this.options.zk.getControllerEpoch().catch(() => null);
    if (!epoch || !this.epoch || epoch.epoch !== this.epoch.epoch || epoch.zkVersion !== this.epoch.zkVersion) {
      this.resign('another controller has a newer epoch');
      await this.elect();
    }
  }

  private async becomeActive(epoch: ControllerEpoch): Promise<void> {
    const { config, brokerId } = this.options;
    this.epoch = epoch;
    this.context.clear();
    this.channel = new ControllerChannel({
      controllerId: brokerId,
      listenerName: config.interBrokerListenerName,
      requestTimeoutMs: config.get('controller.socket.timeout.ms'),
      logger: this.logger,
    });
    this.logger.info('this broker is the controller', { brokerId, epoch: epoch.epoch });

    await this.refreshBrokers();
    await this.refreshTopics();
    // Partitions whose leader died while nobody was controller.
    await this.electOfflinePartitions();
    await this.dropDeadBrokersFromIsrs();
    this.batch.sendUpdateMetadata(this.context, epoch.epoch, this.channel);
    for (const [topic, index] of this.context.allPartitions()) this.batch.addLeaderAndIsr(this.context, topic, index);
    await this.processDeletions();
    for (const [topic, index] of this.context.allPartitions()) await this.maybeCompleteReassignment(topic, index);
    await this.processReassignmentNode();

    if (config.get('auto.leader.rebalance.enable')) {
      const everyMs = Math.max(1, config.get('leader.imbalance.check.interval.seconds')) * 1000;
      this.rebalanceTimer = setInterval(() => this.onEvent('auto leader rebalance', () => this.rebalanceLeaders()), Math.min(everyMs, 0x7fffffff));
      this.rebalanceTimer.unref();
    }
  }

  private resign(reason: string): void {
    if (!this.epoch) return;
    this.logger.info('this broker is no longer the controller', { reason });
    this.epoch = null;
    this.channel?.close();
    this.channel = null;
    if (this.rebalanceTimer) clearInterval(this.rebalanceTimer);
    this.rebalanceTimer = null;
    this.context.clear();
  }

  // ---- brokers -----------------------------------------------------------------------------

  private async refreshBrokers(): Promise<void> {
    const { zk } = this.options;
    const ids = new Set(await zk.getBrokerIds(() => this.onEvent('broker change', () => this.refreshBrokers())));
    const joined: number[] = [];
    for (const id of ids) {
      const registration = await zk.getBroker(id);
      if (!registration) continue;
      if (!this.context.liveBrokers.has(id)) joined.push(id);
      this.context.liveBrokers.set(id, registration);
      this.channel!.addBroker(registration);
    }
    const died = [...this.context.liveBrokers.keys()].filter((id) => !ids.has(id));
    for (const id of died) {
      this.context.liveBrokers.delete(id);
      this.context.shuttingDown.delete(id);
      this.channel!.removeBroker(id);
    }
    if (joined.length === 0 && died.length === 0) return;
    this.logger.info('brokers changed', { joined, died, live: [...this.context.liveBrokers.keys()] });
    for (const id of joined) this.context.shuttingDown.delete(id);
    if (died.length > 0) await this.onBrokersDied(new Set(died));
    if (joined.length > 0) await this.onBrokersJoined(joined);
    this.batch.markMetadataChanged();
  }

  private async onBrokersDied(died: Set<number>): Promise<void> {
    const live = this.context.liveBrokerIds();
    for (const topic of this.context.topics.values()) {
      const unclean = this.uncleanAllowed(topic);
      const changes = new Map<number, StateChange>();
      for (const [index, p] of topic.partitions) {
        const state = p.state;
        if (!state) continue;
        if (died.has(state.leader)) {
          const election = electOfflineLeader(p.replicas, state.isr, live, await unclean());
          // No eligible replica: the partition goes offline, keeping its ISR so a returning member can lead cleanly.
          changes.set(index, election ? { ...election, bumpEpoch: true } : { leader: -1, isr: state.isr, bumpEpoch: true });
        } else if (state.leader >= 0 && state.isr.some((id) => died.has(id))) {
          changes.set(index, { leader: state.leader, isr: state.isr.filter((id) => !died.has(id)), bumpEpoch: true });
        }
      }
      await this.applyChanges(topic, changes);
    }
  }

  /**
   * Brokers that died while nobody was controller (typically the old
   * controller and whoever died with it) were never seen dying, so no broker
   * change removes them from the ISRs of partitions whose leader lives on:
   * do it at failover, as Kafka's OfflineReplica transition does. Otherwise a
   * leader whose followers were caught up when they died keeps them in its
   * ISR until new writes make them lag: acks=all writes are appended and
   * left waiting instead of being refused with NOT_ENOUGH_REPLICAS.
   */
  private async dropDeadBrokersFromIsrs(): Promise<void> {
    const live = this.context.liveBrokerIds();
    const dead = new Set<number>();
    for (const [, , p] of this.context.allPartitions()) {
      if (p.state && p.state.leader >= 0) for (const id of p.state.isr) if (!live.has(id)) dead.add(id);
    }
    if (dead.size > 0) await this.onBrokersDied(dead);
  }

  private async onBrokersJoined(joined: number[]): Promise<void> {
    // As Kafka: a joining broker learns the cluster (its leaders' addresses) before its LeaderAndIsr.
    this.batch.sendUpdateMetadata(this.context, this.epoch!.epoch, this.channel!, joined);
    // Partitions that had no leader may have one again; partitions never started may start.
    await this.electOfflinePartitions();
    for (const topic of this.context.topics.values()) {
      const uninitialized = [...topic.partitions].filter(([, p]) => !p.state).map(([index]) => index);
      if (uninitialized.length > 0) await this.initializePartitions(topic, uninitialized);
    }
    const joinedSet = new Set(joined);
    for (const [topic, index, p] of this.context.allPartitions()) {
      const targets = p.replicas.filter((id) => joinedSet.has(id));
      if (targets.length > 0) this.batch.addLeaderAndIsr(this.context, topic, index, targets);
    }
  }

  private async electOfflinePartitions(): Promise<void> {
    const live = this.context.liveBrokerIds();
    for (const topic of this.context.topics.values()) {
      const unclean = this.uncleanAllowed(topic);
      const changes = new Map<number, StateChange>();
      for (const [index, p] of topic.partitions) {
        if (!p.state || (p.state.leader >= 0 && live.has(p.state.leader))) continue;
        const election = electOfflineLeader(p.replicas, p.state.isr, live, await unclean());
        if (election) changes.set(index, { ...election, bumpEpoch: true });
        else if (p.state.leader !== -1) changes.set(index, { leader: -1, isr: p.state.isr, bumpEpoch: true });
      }
      await this.applyChanges(topic, changes);
    }
  }

  /** Reads the topic's unclean.leader.election.enable lazily (only when an election needs it). */
  private uncleanAllowed(topic: TopicContext): () => Promise<boolean> {
    let cached: boolean | null = null;
    return async () => {
      if (cached === null) {
        const overrides = await this.options.zk.getTopicConfig(topic.name).catch(() => ({}));
        cached = resolveTopicConfig(this.options.config, overrides).get('unclean.leader.election.enable');
      }
      return cached;
    };
  }

  // ---- topics --------------------------------------------------------------------------------

  private async refreshTopics(): Promise<void> {
    const names = new Set(await this.options.zk.getTopics(() => this.onEvent('topic change', () => this.refreshTopics())));
    for (const name of this.context.topics.keys()) {
      if (!names.has(name)) this.context.removeTopic(name);
    }
    for (const name of names) {
      if (!this.context.topics.has(name)) await this.loadTopic(name);
    }
  }

  private async loadTopic(name: string): Promise<void> {
    const { zk } = this.options;
    const assignment = await zk.getTopicAssignment(name, this.assignmentWatcher(name));
    if (!assignment) return;
    const topic: TopicContext = {
      name,
      topicId: assignment.topicId ?? randomUuid(),
      assignmentZkVersion: assignment.zkVersion,
      partitions: new Map(),
    };
    for (const [index, replicas] of assignment.partitions) {
      topic.partitions.set(index, {
        replicas,
        adding: assignment.addingReplicas.get(index) ?? [],
        removing: assignment.removingReplicas.get(index) ?? [],
        state: await zk.getPartitionState(name, index),
      });
    }
    this.context.addTopic(topic);
    if (assignment.topicId === null) await this.writeAssignment(topic); // written by a tool that set no id
    const fresh = [...topic.partitions].filter(([, p]) => !p.state).map(([index]) => index);
    if (fresh.length > 0) await this.initializePartitions(topic, fresh);
  }

  private assignmentWatcher(name: string): () => void {
    return () => this.onEvent('partition change', () => this.refreshAssignment(name));
  }

  /** `/brokers/topics/<t>` changed: new partitions (CreatePartitions or a tool). */
  private async refreshAssignment(name: string): Promise<void> {
    const topic = this.context.topics.get(name);
    const assignment = await this.options.zk.getTopicAssignment(name, this.assignmentWatcher(name));
    if (!topic || !assignment) return;
    topic.assignmentZkVersion = assignment.zkVersion;
    const added: number[] = [];
    for (const [index, replicas] of assignment.partitions) {
      if (topic.partitions.has(index)) continue;
      topic.partitions.set(index, { replicas, adding: [], removing: [], state: null });
      added.push(index);
    }
    if (added.length > 0) await this.initializePartitions(topic, added);
  }

  /** Gives new partitions their first state: leader = first live replica, ISR = the live replicas. */
  private async initializePartitions(topic: TopicContext, indexes: number[]): Promise<void> {
    const live = this.context.liveBrokerIds();
    const states = new Map<number, Omit<LeaderIsrState, 'zkVersion'>>();
    for (const index of indexes) {
      const p = topic.partitions.get(index)!;
      const liveReplicas = p.replicas.filter((id) => live.has(id));
      if (liveReplicas.length === 0) {
        this.logger.warn('a new partition has no live replica; it starts when one joins', { topic: topic.name, partition: index });
        continue;
      }
      states.set(index, { leader: liveReplicas[0]!, leaderEpoch: 0, isr: liveReplicas, controllerEpoch: this.epoch!.epoch });
    }
    if (states.size === 0) return;
    const written = await this.options.zk.createPartitionStates(topic.name, states, this.epoch!);
    for (const [index, state] of written) {
      topic.partitions.get(index)!.state = state;
      this.batch.addLeaderAndIsr(this.context, topic, index, undefined, true);
    }
  }

  // ---- deletion ------------------------------------------------------------------------------

  private async processDeletions(): Promise<void> {
    const { zk, config } = this.options;
    const names = await zk.getTopicsMarkedForDeletion(() => this.onEvent('topic deletion', () => this.processDeletions()));
    for (const name of names) {
      const topic = this.context.topics.get(name);
      if (!topic || !config.get('delete.topic.enable')) {
        await zk.unmarkTopicForDeletion(name);
        continue;
      }
      for (const [index, p] of topic.partitions) {
        for (const brokerId of p.replicas) this.batch.addStopReplica(this.context, brokerId, name, index, true);
      }
      await zk.deleteTopicNodes(name, this.epoch!);
      this.context.removeTopic(name);
      this.batch.addDeletedTopic(topic);
      this.logger.info('deleted a topic', { topic: name });
    }
  }

  // ---- reassignment --------------------------------------------------------------------------

  /** Reassignments written by tools to `/admin/reassign_partitions`: started, then the node goes. */
  private async processReassignmentNode(): Promise<void> {
    const { zk } = this.options;
    const entries = await zk.getPartitionReassignment(() => this.onEvent('reassignment request', () => this.processReassignmentNode()));
    if (entries.length === 0) return;
    for (const entry of entries) {
      const topic = this.context.topics.get(entry.topic);
      if (!topic?.partitions.has(entry.partition)) {
        this.logger.warn('ignoring a reassignment of an unknown partition', { ...entry });
        continue;
      }
      try {
        this.checkTargetReplicas(entry.replicas);
        await this.startReassignment(topic, entry.partition, entry.replicas);
      } catch (error) {
        if (!(error instanceof KafkaError)) throw error;
        this.logger.warn('ignoring an invalid reassignment', { ...entry, err: error.message });
      }
    }
    await zk.deletePartitionReassignment(this.epoch!);
  }

  private checkTargetReplicas(replicas: number[]): void {
    if (replicas.length === 0) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The replica list is empty.');
    if (new Set(replicas).size !== replicas.length) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Duplicate replicas in ${JSON.stringify(replicas)}.`);
    }
    const unknown = replicas.filter((id) => !this.context.liveBrokers.has(id));
    if (unknown.length > 0) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Replica assignment has brokers that are not alive: ${unknown.join(', ')}.`);
    }
  }

  /**
   * Kafka's reassignment: the replica set becomes target + original, the new
   * replicas are told to follow, and the move finishes (maybeCompleteReassignment)
   * once every target replica is in the ISR.
   */
  private async startReassignment(topic: TopicContext, index: number, target: number[]): Promise<void> {
    const p = topic.partitions.get(index)!;
    const original = p.replicas.filter((id) => !p.adding.includes(id));
    const sameSet = target.length === original.length && target.every((id) => original.includes(id));
    if (sameSet && p.adding.length === 0 && p.removing.length === 0) {
      if (target.some((id, i) => original[i] !== id)) {
        p.replicas = [...target]; // a new preferred order only
        await this.writeAssignment(topic);
        this.batch.markMetadataChanged();
      }
      return;
    }
    p.replicas = [...new Set([...target, ...original])];
    p.adding = target.filter((id) => !original.includes(id));
    p.removing = original.filter((id) => !target.includes(id));
    await this.writeAssignment(topic);
    this.logger.info('reassignment started', { topic: topic.name, partition: index, target, adding: p.adding, removing: p.removing });
    if (p.state) await this.applyChanges(topic, new Map([[index, { leader: p.state.leader, isr: p.state.isr, bumpEpoch: true }]]));
    await this.maybeCompleteReassignment(topic, index);
  }

  private async maybeCompleteReassignment(topic: TopicContext, index: number): Promise<void> {
    const p = topic.partitions.get(index);
    if (!p || !p.state || (p.adding.length === 0 && p.removing.length === 0)) return;
    const target = ControllerContext.targetReplicas(p);
    if (!target.every((id) => p.state!.isr.includes(id))) return;
    const live = this.context.liveBrokerIds();
    let election: Election | null = { leader: p.state.leader, isr: p.state.isr.filter((id) => target.includes(id)) };
    if (!target.includes(p.state.leader) || !live.has(p.state.leader)) election = electReassignmentLeader(target, p.state.isr, live);
    if (!election) return; // no target replica can lead yet; retried on the next ISR change
    const removed = p.removing;
    p.replicas = target;
    p.adding = [];
    p.removing = [];
    await this.applyChanges(topic, new Map([[index, { ...election, bumpEpoch: true }]]));
    await this.writeAssignment(topic);
    for (const brokerId of removed) this.batch.addStopReplica(this.context, brokerId, topic.name, index, true);
    this.logger.info('reassignment completed', { topic: topic.name, partition: index, replicas: target });
  }

  // ---- leader balance ------------------------------------------------------------------------

  /** auto.leader.rebalance.enable: preferred replicas take leadership back once a broker's share of misplaced leaders passes the threshold. */
  private async rebalanceLeaders(): Promise<void> {
    const threshold = this.options.config.get('leader.imbalance.per.broker.percentage') / 100;
    const live = this.context.liveBrokerIds();
    const preferredCount = new Map<number, number>();
    const misplaced = new Map<number, Array<[TopicContext, number]>>();
    for (const [topic, index, p] of this.context.allPartitions()) {
      const preferred = p.replicas[0];
      if (preferred === undefined || !p.state || p.adding.length > 0) continue;
      preferredCount.set(preferred, (preferredCount.get(preferred) ?? 0) + 1);
      if (p.state.leader !== preferred) misplaced.set(preferred, [...(misplaced.get(preferred) ?? []), [topic, index]]);
    }
    for (const [brokerId, partitions] of misplaced) {
      if (!live.has(brokerId) || this.context.shuttingDown.has(brokerId)) continue;
      if (partitions.length / (preferredCount.get(brokerId) ?? 1) <= threshold) continue;
      for (const [topic, index] of partitions) {
        const p = topic.partitions.get(index)!;
        const election = electPreferredLeader(p.replicas, p.state!.isr, live);
        if (election) await this.applyChanges(topic, new Map([[index, { ...election, bumpEpoch: true }]]));
      }
    }
  }

  // ---- writing state -------------------------------------------------------------------------

  /**
   * Commits state changes of one topic's partitions to ZooKeeper (conditional
   * on their versions and on this controller's epoch), then queues the
   * LeaderAndIsr / UpdateMetadata that tell the brokers.
   */
  private async applyChanges(topic: TopicContext, changes: Map<number, StateChange>, opts: { notifyReplicas?: boolean } = {}): Promise<void> {
    if (changes.size === 0) return;
    const epoch = this.epoch!;
    const states = new Map<number, LeaderIsrState>();
    for (const [index, change] of changes) {
      const current = topic.partitions.get(index)!.state!;
      states.set(index, {
        leader: change.leader,
        isr: change.isr,
        leaderEpoch: current.leaderEpoch + (change.bumpEpoch ? 1 : 0),
        controllerEpoch: epoch.epoch,
        zkVersion: current.zkVersion,
      });
    }
    const written = await this.options.zk.updatePartitionStates(topic.name, states, epoch);
    for (const [index, state] of written) {
      topic.partitions.get(index)!.state = state;
      if (opts.notifyReplicas ?? true) this.batch.addLeaderAndIsr(this.context, topic, index);
    }
    this.batch.markMetadataChanged();
  }

  private async writeAssignment(topic: TopicContext): Promise<void> {
    topic.assignmentZkVersion = await this.options.zk.setTopicAssignment(
      ControllerContext.assignmentOf(topic),
      topic.assignmentZkVersion,
      this.epoch!,
    );
  }
}

