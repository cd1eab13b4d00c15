/**
 * One replica fetcher: the partitions this broker follows whose leader is one
 * given broker (or the share of them num.replica.fetchers gives this
 * fetcher), fetched over one connection with Kafka's Fetch requests
 * carrying this broker's replica id.
 *
 * Each partition goes through Kafka's states: truncating (ask the leader,
 * with OffsetForLeaderEpoch, where our latest epoch ended and cut the log
 * there; without an epoch, or when the leader cannot answer, cut to our
 * high watermark), then fetching (from our log end offset; the batches are
 * appended with the leader's offsets, the high watermark follows the
 * leader's). Errors: OFFSET_OUT_OF_RANGE resets the position as Kafka does
 * (truncate to the leader's end if it is behind us, or start over at its
 * log start if that is past our end); FENCED_LEADER_EPOCH parks the
 * partition until the controller's next LeaderAndIsr re-adds it; other
 * partition errors and connection failures back off
 * replica.fetch.backoff.ms and retry.
 *
 * The loop runs while the fetcher has partitions; it waits on the leader
 * (the fetch long-polls there for replica.fetch.wait.max.ms), never polls.
 * A partition removed or re-added while a request is in flight is
 * recognised by its state object, and the partition itself refuses writes
 * for a leader epoch it no longer follows.
 */
import { BrokerConnection } from '../../client/connection.js';
import { ConnectionError, RequestTimeoutError } from '../../client/errors.js';
import type { Logger } from '../../logging.js';
import { ErrorCode, KafkaError, errorName } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type { FetchRequestFetchTopic, FetchResponsePartitionData } from '../../protocol/messages/fetch.js';
import type { OffsetForLeaderEpochRequestOffsetForLeaderTopic } from '../../protocol/messages/offset-for-leader-epoch.js';
import { ZERO_UUID, type Uuid } from '../../protocol/primitives.js';
import { UNDEFINED_EPOCH } from '../../storage/leader-epoch-cache.js';
import type { ClusterLink } from '../cluster-link.js';
import type { Partition } from '../partition.js';
import { checkFetchedRecords } from './fetched-records.js';
import { truncationDecision } from './truncation.js';

/** The replica.* settings a fetcher uses. */
export interface ReplicaFetcherSettings {
  fetchMaxBytes: number;
  fetchResponseMaxBytes: number;
  fetchWaitMaxMs: number;
  fetchMinBytes: number;
  fetchBackoffMs: number;
  socketTimeoutMs: number;
  /** Largest batch a topic may hold (message.max.bytes): a response can carry one whole. */
  messageMaxBytes: number;
}

export interface ReplicaFetcherOptions {
  brokerId: number;
  sourceBrokerId: number;
  fetcherId: number;
  settings: ReplicaFetcherSettings;
  clusterLink: () => ClusterLink | null;
  logger: Logger;
}

type Phase = 'truncating' | 'fetching' | 'fenced';

/** One followed partition's fetch state. A re-added partition gets a new object. */
interface FetchState {
  readonly partition: Partition;
  /** The leader epoch this broker follows (the request's current_leader_epoch). */
  readonly leaderEpoch: number;
  phase: Phase;
  /** Back-off: not fetched before this time. */
  delayedUntil: number;
  /** Consecutive "the leader does not know its role yet" answers (short, growing retries). */
  notReadyStreak: number;
}

const LIST_OFFSETS_EARLIEST = -2n;
/** Fetch names topics by id from this version (KIP-516). */
const TOPIC_ID_FETCH_VERSION = 13;
/** Room for response headers around the records. */
const RESPONSE_OVERHEAD_BYTES = 1 << 20;
/**
 * First retry after a leader answered as if it did not know its new role yet
 * (the controller's LeaderAndIsr reached this follower first); it doubles up
 * to replica.fetch.backoff.ms. Waiting the full back-off at once held acks=all
 * produces on the new leader for a second after every failover.
 */
const NOT_READY_RETRY_MS = 20;
const LEADER_NOT_READY_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.UNKNOWN_TOPIC_ID,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
]);

export class ReplicaFetcher {
  private readonly states = new Map<string, FetchState>();
  private connection: BrokerConnection | null = null;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private stopped = false;
  /** A Fetch is waiting on the leader (long poll). */
  private polling = false;
  /** The long poll was cut short to fetch newly added partitions at once. */
  private interrupted = false;
  private readonly logger: Logger;

  constructor(private readonly options: ReplicaFetcherOptions) {
    this.logger = options.logger.child({ sourceBroker: options.sourceBrokerId, fetcherId: options.fetcherId });
  }

  get size(): number {
    return this.states.size;
  }

  /** Followed partitions' keys (tests, tools). */
  partitionKeys(): string[] {
    return [...this.states.keys()];
  }

  /** Starts (or restarts) following `partition` at its current leader epoch, truncating first. */
  add(partition: Partition): void {
    this.states.set(partition.key, { partition, leaderEpoch: partition.leaderEpoch, phase: 'truncating', delayedUntil: 0, notReadyStreak: 0 });
    if (this.loop === null && !this.stopped) {
      this.loop = this.run().catch((err: unknown) => this.logger.error('replica fetcher stopped on an unexpected error', { err: String(err) }));
    }
    // A long poll in flight could hold the new partition back for replica.fetch.wait.max.ms
    // (after a failover, acks=all on the new leader waits for it): cut it short. Fetching
    // again from the log end is harmless.
    if (this.polling) {
      this.interrupted = true;
      this.connection?.close();
      this.connection = null;
    }
    this.kick();
  }

  remove(partition: Partition): void {
    this.states.delete(partition.key);
  }

  /** Re-checks at once (a partition was added, the cluster link changed). */
  kick(): void {
    const wake = this.wakeUp;
    this.wakeUp = null;
    wake?.();
  }

  /** Stops the loop, closing the connection (a request in flight fails), and waits for it to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.connection?.close();
    this.kick();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped && this.states.size > 0) {
      const now = Date.now();
      const ready = [...this.states.values()].filter((s) => s.phase !== 'fenced' && s.delayedUntil <= now);
      if (ready.length === 0) {
        await this.idle(this.nextWakeUp(now));
        continue;
      }
      let connection: BrokerConnection;
      try {
        connection = await this.connect();
      } catch (err) {
        if (this.stopped) break;
        this.logger.warn('cannot reach the leader; backing off', { err: String(err) });
        this.backOff(ready);
        continue;
      }
      try {
        const truncating = ready.filter((s) => s.phase === 'truncating');
        if (truncating.length > 0) await this.truncate(connection, truncating);
        const fetching = ready.filter((s) => s.phase === 'fetching' && this.isCurrent(s) && s.delayedUntil <= Date.now());
        if (fetching.length > 0) await this.fetch(connection, fetching);
      } catch (err) {
        if (this.stopped) break;
        if (this.interrupted) {
          this.interrupted = false;
          continue;
        }
        this.logger.warn('replica fetch failed; backing off', { err: String(err) });
        connection.close();
        this.connection = null;
        this.backOff(ready);
      }
    }
    this.connection?.close();
    this.connection = null;
    this.loop = null;
    // Partitions added while the loop was winding down start it again.
    if (!this.stopped && this.states.size > 0) {
      this.loop = this.run().catch((err: unknown) => this.logger.error('replica fetcher stopped on an unexpected error', { err: String(err) }));
    }
  }

  private isCurrent(state: FetchState): boolean {
    return this.states.get(state.partition.key) === state;
  }

  private backOff(states: FetchState[]): void {
    const until = Date.now() + this.options.settings.fetchBackoffMs;
    for (const s of states) if (this.isCurrent(s)) s.delayedUntil = until;
  }

  private nextWakeUp(now: number): number {
    let next = Infinity;
    for (const s of this.states.values()) if (s.phase !== 'fenced') next = Math.min(next, s.delayedUntil);
    return next === Infinity ? Infinity : Math.max(0, next - now);
  }

  /** Waits for `ms` (Infinity: until kicked) or a kick. */
  private idle(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => done(), ms) : null;
      const done = () => {
        if (timer !== null) clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = null;
        resolve();
      };
      this.wakeUp = done;
    });
  }

  private async connect(): Promise<BrokerConnection> {
    if (this.connection !== null && !this.connection.closed) return this.connection;
    const { brokerId, sourceBrokerId, fetcherId, settings } = this.options;
    const address = this.options.clusterLink()?.brokerAddress(sourceBrokerId);
    if (address === undefined) throw new Error(`the address of broker ${sourceBrokerId} is not known yet`);
    const connection = await BrokerConnection.open({
      host: address.host,
      port: address.port,
      clientId: `broker-${brokerId}-fetcher-${fetcherId}`,
      requestTimeoutMs: settings.socketTimeoutMs,
      connectTimeoutMs: settings.socketTimeoutMs,
      maxResponseBytes: Math.max(settings.fetchResponseMaxBytes, settings.fetchMaxBytes, settings.messageMaxBytes) + RESPONSE_OVERHEAD_BYTES,
      logger: this.logger,
    });
    if (this.stopped) {
      connection.close();
      throw new Error('the fetcher stopped');
    }
    this.connection = connection;
    this.logger.info('connected to the leader', { address: connection.address });
    return connection;
  }

  // ---- truncation -----------------------------------------------------------

  private async truncate(connection: BrokerConnection, states: FetchState[]): Promise<void> {
    const withEpoch: FetchState[] = [];
    for (const s of states) {
      if (s.partition.log.latestEpoch === UNDEFINED_EPOCH || !connection.supports(ApiKey.OffsetForLeaderEpoch)) {
        await this.truncateToHighWatermark(s);
      } else {
        withEpoch.push(s);
      }
    }
    if (withEpoch.length === 0) return;
    const byTopic = new Map<string, OffsetForLeaderEpochRequestOffsetForLeaderTopic>();
    for (const s of withEpoch) {
      const p = s.partition;
      let topic = byTopic.get(p.topic);
      if (!topic) byTopic.set(p.topic, (topic = { topic: p.topic, partitions: [] }));
      topic.partitions.push({ partition: p.index, currentLeaderEpoch: s.leaderEpoch, leaderEpoch: p.log.latestEpoch });
    }
    const response = await connection.request(ApiKey.OffsetForLeaderEpoch, {
      replicaId: this.options.brokerId,
      topics: [...byTopic.values()],
    });
    const answered = new Set<FetchState>();
    for (const t of response.topics) {
      for (const r of t.partitions) {
        const s = withEpoch.find((x) => x.partition.topic === t.topic && x.partition.index === r.partition);
        if (!s || !this.isCurrent(s)) continue;
        answered.add(s);
        if (r.errorCode !== ErrorCode.NONE) {
          this.onPartitionError(s, r.errorCode, 'OffsetForLeaderEpoch');
          continue;
        }
        const log = s.partition.log;
        const decision = truncationDecision({ epoch: r.leaderEpoch ?? UNDEFINED_EPOCH, endOffset: Number(r.endOffset) }, log);
        if (decision.offset < log.logEndOffset) {
          this.logger.info('truncating a divergent log tail', {
            partition: s.partition.key,
            from: log.logEndOffset,
            to: decision.offset,
            leaderEpoch: r.leaderEpoch,
            leaderEndOffset: Number(r.endOffset),
          });
        }
        if (!(await s.partition.truncateTo(decision.offset, s.leaderEpoch))) continue;
        if (decision.complete) s.phase = 'fetching';
      }
    }
    this.backOff(withEpoch.filter((s) => !answered.has(s)));
  }

  /** Without epochs to compare, only the high watermark is known to be on the leader too. */
  private async truncateToHighWatermark(s: FetchState): Promise<void> {
    const log = s.partition.log;
    if (!(await s.partition.truncateTo(log.highWatermark, s.leaderEpoch))) return;
    if (this.isCurrent(s)) s.phase = 'fetching';
  }

  // ---- fetching ---------------------------------------------------------------

  private async fetch(connection: BrokerConnection, states: FetchState[]): Promise<void> {
    const { settings, brokerId } = this.options;
    // Topics are named by id from v13 on; a partition whose topic id is unknown keeps us below.
    const withoutId = states.some((s) => s.partition.topicId === ZERO_UUID);
    const version = connection.version(ApiKey.Fetch, undefined, withoutId ? TOPIC_ID_FETCH_VERSION - 1 : undefined);
    const byId = version >= TOPIC_ID_FETCH_VERSION;
    const topics = new Map<string, FetchRequestFetchTopic>();
    const sent = new Map<string, FetchState>();
    for (const s of states) {
      const p = s.partition;
      const topicKey = byId ? p.topicId : p.topic;
      let topic = topics.get(topicKey);
      if (!topic) topics.set(topicKey, (topic = byId ? { topicId: p.topicId, partitions: [] } : { topic: p.topic, partitions: [] }));
      topic.partitions.push({
        partition: p.index,
        currentLeaderEpoch: s.leaderEpoch,
        fetchOffset: BigInt(p.log.logEndOffset),
        lastFetchedEpoch: -1,
        logStartOffset: BigInt(p.log.logStartOffset),
        partitionMaxBytes: settings.fetchMaxBytes,
      });
      sent.set(`${topicKey}/${p.index}`, s);
    }
    this.polling = true;
    const response = await connection.request(
      ApiKey.Fetch,
      {
        // From v15 the replica id travels in replica_state.
        replicaId: version <= 14 ? brokerId : undefined,
        replicaState: version >= 15 ? { replicaId: brokerId, replicaEpoch: -1n } : undefined,
        maxWaitMs: settings.fetchWaitMaxMs,
        minBytes: settings.fetchMinBytes,
        maxBytes: settings.fetchResponseMaxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...topics.values()],
        forgottenTopicsData: [],
        rackId: '',
      },
      { version, timeoutMs: settings.socketTimeoutMs + settings.fetchWaitMaxMs },
    ).finally(() => (this.polling = false));
    if ((response.errorCode ?? ErrorCode.NONE) !== ErrorCode.NONE) {
      this.logger.warn('the leader refused the fetch', { error: errorName(response.errorCode!) });
      this.backOff(states);
      return;
    }
    const answered = new Set<FetchState>();
    for (const t of response.responses) {
      const topicKey = byId ? (t.topicId as Uuid) : (t.topic ?? '');
      for (const data of t.partitions) {
        const s = sent.get(`${topicKey}/${data.partitionIndex}`);
        if (!s) continue;
        answered.add(s);
        if (this.isCurrent(s)) await this.processPartition(connection, s, data);
      }
    }
    // A partition the leader left out is asked again after a back-off, not in a tight loop.
    this.backOff(states.filter((s) => !answered.has(s)));
  }

  private async processPartition(connection: BrokerConnection, s: FetchState, data: FetchResponsePartitionData): Promise<void> {
    const partition = s.partition;
    switch (data.errorCode) {
      case ErrorCode.NONE:
        s.notReadyStreak = 0;
        break;
      case ErrorCode.OFFSET_OUT_OF_RANGE:
        await this.handleOutOfRange(connection, s);
        return;
      default:
        this.onPartitionError(s, data.errorCode, 'Fetch');
        return;
    }
    const fetched = checkFetchedRecords(data.records ?? Buffer.alloc(0));
    try {
      if (fetched.records.length > 0 && (await partition.appendAsFollower(fetched.records, s.leaderEpoch)) === null) return;
    } catch (err) {
      // E.g. batches below our log end: our position is off; find it again from the epochs.
      this.logger.warn('could not append what the leader sent; truncating again', { partition: partition.key, err: String(err) });
      s.phase = 'truncating';
      this.backOff([s]);
      return;
    }
    partition.updateFollowerHighWatermark(Number(data.highWatermark));
    const leaderLogStart = Number(data.logStartOffset ?? -1n);
    if (leaderLogStart > 0) {
      await partition
        .followLeaderLogStart(leaderLogStart)
        .catch((err: unknown) => this.logger.warn('could not move the log start offset', { partition: partition.key, err: String(err) }));
    }
    if (fetched.problem !== null) {
      this.logger.warn('the leader sent a damaged batch; fetching it again after a back-off', { partition: partition.key, problem: fetched.problem });
      this.backOff([s]);
    }
  }

  /**
   * Kafka's fetchOffsetAndTruncate: the leader's log ends before ours (an
   * unclean election) → cut ours there; its log starts after our end
   * (retention) → start over empty at its start; otherwise fetch from our
   * end again.
   */
  private async handleOutOfRange(connection: BrokerConnection, s: FetchState): Promise<void> {
    const p = s.partition;
    const ownEnd = p.log.logEndOffset;
    try {
      const leaderEnd = await this.leaderLogEndOffset(connection, s);
      if (leaderEnd < ownEnd) {
        this.logger.warn('the leader log ends before ours; truncating to it', { partition: p.key, ownEnd, leaderEnd });
        await p.truncateTo(leaderEnd, s.leaderEpoch);
        return;
      }
      const leaderStart = await this.leaderLogStartOffset(connection, s);
      if (leaderStart > ownEnd) {
        this.logger.info('the leader log starts after ours ends; starting over at its start', { partition: p.key, ownEnd, leaderStart });
        await p.truncateFullyAndStartAt(leaderStart, s.leaderEpoch);
        return;
      }
      // Our end is in range again (the leader's log moved meanwhile): fetch from it, after a pause.
      this.backOff([s]);
    } catch (err) {
      // Connection trouble is the loop's to handle; an error about the partition is this partition's.
      if (!(err instanceof KafkaError) || err instanceof ConnectionError || err instanceof RequestTimeoutError) throw err;
      this.onPartitionError(s, err.code, 'offset lookup');
    }
  }

  /** The leader's log end offset: OffsetForLeaderEpoch for its own epoch answers it. */
  private async leaderLogEndOffset(connection: BrokerConnection, s: FetchState): Promise<number> {
    const p = s.partition;
    const response = await connection.request(ApiKey.OffsetForLeaderEpoch, {
      replicaId: this.options.brokerId,
      topics: [{ topic: p.topic, partitions: [{ partition: p.index, currentLeaderEpoch: s.leaderEpoch, leaderEpoch: s.leaderEpoch }] }],
    });
    const r = response.topics.find((t) => t.topic === p.topic)?.partitions.find((x) => x.partition === p.index);
    if (!r) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `no OffsetForLeaderEpoch answer for ${p.key}`);
    if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `OffsetForLeaderEpoch for ${p.key}`);
    return Number(r.endOffset);
  }

  /** The leader's log start offset (ListOffsets EARLIEST with our replica id). */
  private async leaderLogStartOffset(connection: BrokerConnection, s: FetchState): Promise<number> {
    const p = s.partition;
    const response = await connection.request(ApiKey.ListOffsets, {
      replicaId: this.options.brokerId,
      isolationLevel: 0,
      topics: [{ name: p.topic, partitions: [{ partitionIndex: p.index, currentLeaderEpoch: s.leaderEpoch, timestamp: LIST_OFFSETS_EARLIEST }] }],
    });
    const r = response.topics.find((t) => t.name === p.topic)?.partitions.find((x) => x.partitionIndex === p.index);
    if (!r) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `no ListOffsets answer for ${p.key}`);
    if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `ListOffsets for ${p.key}`);
    return Number(r.offset);
  }

  /**
   * A partition-level error: FENCED_LEADER_EPOCH means our epoch is old, so
   * the partition waits for the next LeaderAndIsr (which re-adds it); the
   * rest (NOT_LEADER_OR_FOLLOWER, UNKNOWN_LEADER_EPOCH, unknown topic, ...)
   * back off and retry, as the leader may simply not know its role yet.
   */
  private onPartitionError(s: FetchState, errorCode: number, api: string): void {
    const key = s.partition.key;
    if (errorCode === ErrorCode.FENCED_LEADER_EPOCH) {
      this.logger.info('our leader epoch is fenced; waiting for the next LeaderAndIsr', { partition: key, leaderEpoch: s.leaderEpoch, api });
      s.phase = 'fenced';
      return;
    }
    this.logger.debug('partition error from the leader; backing off', { partition: key, api, error: errorName(errorCode) });
    if (LEADER_NOT_READY_ERRORS.has(errorCode) && this.isCurrent(s)) {
      const { fetchBackoffMs } = this.options.settings;
      s.delayedUntil = Date.now() + Math.min(fetchBackoffMs, NOT_READY_RETRY_MS * 2 ** s.notReadyStreak++);
      return;
    }
    this.backOff([s]);
  }
}
