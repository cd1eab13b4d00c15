/**
 * What every client shares: connections to the brokers (one per broker,
 * reconnected with exponential backoff), the bootstrap list with failover,
 * and the metadata cache (brokers, topics, partition leaders).
 *
 * Connections are keyed by address, so the connection opened to a bootstrap
 * server is reused for the broker advertising that address. Requests not
 * aimed at a particular broker (metadata, most admin calls) go to the
 * connected broker with the fewest requests in flight; with none connected,
 * the known brokers and then the bootstrap servers are tried in turn.
 *
 * Metadata is kept for the topics a client uses (`trackTopics`). It is
 * refreshed when a caller asks (`requestUpdate`, e.g. after
 * NOT_LEADER_OR_FOLLOWER or a dropped connection), when it is older than
 * `metadata.max.age.ms` (checked by `maybeRefresh`, which the producer's
 * sender and the consumer's poll call), and at most once per
 * `retry.backoff.ms` in the background; concurrent refreshes are coalesced.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/api-table.js';
import type { MetadataResponse } from '../protocol/messages/metadata.js';
import { ZERO_UUID, type Uuid } from '../protocol/primitives.js';
import { silentLogger, type Logger } from '../logging.js';
import { parseAddress, type BrokerAddress, type ResolvedConfig } from './config.js';
import { BrokerConnection } from './connection.js';
import { ClientClosedError, ConnectionError, TimeoutError } from './errors.js';
import { backoff, sleep } from './util.js';

/** A broker as metadata describes it. */
export interface BrokerNode {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionMetadata {
  partition: number;
  /** Leader broker id, -1 when there is none. */
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  /** The partition's error code (LEADER_NOT_AVAILABLE while it has no leader). */
  errorCode: number;
}

export interface TopicMetadata {
  name: string;
  /** ZERO_UUID when the broker does not report topic ids. */
  topicId: Uuid;
  isInternal: boolean;
  /** Indexed by partition number. */
  partitions: PartitionMetadata[];
}

/** An immutable snapshot of the cluster's metadata. */
export class ClusterMetadata {
  readonly topicsById: ReadonlyMap<Uuid, TopicMetadata>;

  constructor(
    readonly clusterId: string | null,
    readonly controllerId: number,
    readonly brokers: ReadonlyMap<number, BrokerNode>,
    readonly topics: ReadonlyMap<string, TopicMetadata>,
    /** When this snapshot was fetched (epoch ms; 0 = never). */
    readonly fetchedAt: number,
  ) {
    const byId = new Map<Uuid, TopicMetadata>();
    for (const t of topics.values()) if (t.topicId !== ZERO_UUID) byId.set(t.topicId, t);
    this.topicsById = byId;
  }

  static empty(): ClusterMetadata {
    return new ClusterMetadata(null, -1, new Map(), new Map(), 0);
  }

  /** The partition's leader id, or -1. */
  leaderFor(topic: string, partition: number): number {
    return this.topics.get(topic)?.partitions[partition]?.leader ?? -1;
  }
}

export interface ClusterOptions {
  bootstrapServers: readonly string[];
  clientId: string;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  reconnectBackoffMs: number;
  reconnectBackoffMaxMs: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  metadataMaxAgeMs: number;
  maxResponseBytes: number;
  /** Whether metadata requests for tracked topics may create them. */
  allowAutoTopicCreation: boolean;
  logger?: Logger;
}

/** ClusterOptions from resolved settings. */
export function clusterOptions(config: ResolvedConfig, clientId: string, logger?: Logger, allowAutoTopicCreation?: boolean): ClusterOptions {
  const allowAuto = allowAutoTopicCreation ?? (config.bool('allow.auto.create.topics') as boolean | undefined) ?? true;
  return {
    bootstrapServers: config.list('bootstrap.servers'),
    clientId,
    requestTimeoutMs: config.int('request.timeout.ms'),
    connectTimeoutMs: config.int('socket.connection.setup.timeout.ms'),
    reconnectBackoffMs: config.int('reconnect.backoff.ms'),
    reconnectBackoffMaxMs: config.int('reconnect.backoff.max.ms'),
    retryBackoffMs: config.int('retry.backoff.ms'),
    retryBackoffMaxMs: config.int('retry.backoff.max.ms'),
    metadataMaxAgeMs: config.int('metadata.max.age.ms'),
    maxResponseBytes: config.int('socket.max.response.bytes'),
    allowAutoTopicCreation: allowAuto !== false,
    logger,
  };
}

interface Slot {
  address: BrokerAddress;
  key: string;
  conn: BrokerConnection | null;
  connecting: Promise<BrokerConnection> | null;
  failures: number;
  nextAttemptAt: number;
  lastError: Error | null;
}

/** Topic-level metadata errors that retrying will not fix. */
export const FATAL_TOPIC_ERRORS: ReadonlySet<number> = new Set<number>([
  ErrorCode.INVALID_TOPIC_EXCEPTION,
  ErrorCode.TOPIC_AUTHORIZATION_FAILED,
]);

export class Cluster {
  readonly options: ClusterOptions;
  readonly logger: Logger;
  private readonly bootstrap: BrokerAddress[];
  private readonly slots = new Map<string, Slot>();
  private current = ClusterMetadata.empty();
  private readonly tracked = new Set<string>();
  private readonly topicErrors = new Map<string, number>();
  private refreshing: Promise<ClusterMetadata> | null = null;
  private needUpdate = false;
  private lastRefreshAttempt = 0;
  private refreshTimer: NodeJS.Timeout | null = null;
  private readonly listeners: Array<() => void> = [];
  private readonly abort = new AbortController();
  private isClosed = false;

  constructor(options: ClusterOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.bootstrap = options.bootstrapServers.map(parseAddress);
    if (this.bootstrap.length === 0) throw new ConnectionError('bootstrap', 'bootstrap.servers is empty');
  }

  /** The latest metadata snapshot. */
  get metadata(): ClusterMetadata {
    return this.current;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Aborts when the cluster closes; for cancellable waits. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Calls `listener` after every metadata refresh (successful or not). */
  onMetadataUpdate(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Adds topics whose metadata the cache maintains; new ones trigger a refresh. */
  trackTopics(topics: Iterable<string>): void {
    let added = false;
    for (const t of topics) {
      if (!this.tracked.has(t)) {
        this.tracked.add(t);
        added = true;
      }
    }
    if (added) this.requestUpdate();
  }

  /** Stops maintaining these topics' metadata. */
  untrackTopics(topics: Iterable<string>): void {
    for (const t of topics) this.tracked.delete(t);
  }

  /** The last error code metadata gave for a topic (e.g. UNKNOWN_TOPIC_OR_PARTITION), if any. */
  topicError(topic: string): number | undefined {
    return this.topicErrors.get(topic);
  }

  // ---------------------------------------------------------------- connections

  private slot(address: BrokerAddress): Slot {
    const key = `${address.host}:${address.port}`;
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = { address, key, conn: null, connecting: null, failures: 0, nextAttemptAt: 0, lastError: null };
      this.slots.set(key, slot);
    }
    return slot;
  }

  /**
   * The connection to an address, opening it when needed (after the
   * reconnect backoff of earlier failures). Rejects with ConnectionError.
   */
  connectionTo(address: BrokerAddress): Promise<BrokerConnection> {
    if (this.isClosed) return Promise.reject(new ClientClosedError('the client is closed'));
    const slot = this.slot(address);
    if (slot.conn !== null && !slot.conn.closed) return Promise.resolve(slot.conn);
    if (slot.connecting !== null) return slot.connecting;
    const promise = this.open(slot);
    slot.connecting = promise;
    promise.then(
      () => (slot.connecting = null),
      () => (slot.connecting = null),
    );
    return promise;
  }

  private async open(slot: Slot): Promise<BrokerConnection> {
    const wait = slot.nextAttemptAt - Date.now();
    if (wait > 0) await sleep(wait, this.abort.signal);
    if (this.isClosed) throw new ClientClosedError('the client is closed');
    const o = this.options;
    let conn: BrokerConnection;
    try {
      conn = await BrokerConnection.open({
        host: slot.address.host,
        port: slot.address.port,
        clientId: o.clientId,
        requestTimeoutMs: o.requestTimeoutMs,
        connectTimeoutMs: o.connectTimeoutMs,
        maxResponseBytes: o.maxResponseBytes,
        logger: this.logger,
      });
    } catch (error) {
      slot.failures++;
      slot.nextAttemptAt = Date.now() + backoff(slot.failures, o.reconnectBackoffMs, o.reconnectBackoffMaxMs);
      slot.lastError = error as Error;
      this.logger.debug('connection failed', { broker: slot.key, error: (error as Error).message });
      throw error;
    }
    if (this.isClosed) {
      conn.close();
      throw new ClientClosedError('the client is closed');
    }
    slot.failures = 0;
    slot.lastError = null;
    slot.conn = conn;
    conn.onClose((reason) => {
      if (slot.conn === conn) slot.conn = null;
      if (this.isClosed) return;
      slot.nextAttemptAt = Date.now() + backoff(1, o.reconnectBackoffMs, o.reconnectBackoffMaxMs);
      if (reason instanceof ConnectionError) {
        this.logger.debug('connection lost', { broker: slot.key, reason: reason.message });
        this.requestUpdate();
      }
    });
    return conn;
  }

  /** The broker's address from metadata, or undefined. */
  nodeAddress(nodeId: number): BrokerAddress | undefined {
    const node = this.current.brokers.get(nodeId);
    return node === undefined ? undefined : { host: node.host, port: node.port };
  }

  /** The connection to a broker by id; rejects (retriably) when metadata does not know it. */
  connectionToNode(nodeId: number): Promise<BrokerConnection> {
    const address = this.nodeAddress(nodeId);
    if (address === undefined) {
      this.requestUpdate();
      return Promise.reject(new ConnectionError(`node ${nodeId}`, 'broker is not in the current metadata'));
    }
    return this.connectionTo(address);
  }

  /** The open connection to a broker, if any (no connecting). */
  readyConnection(nodeId: number): BrokerConnection | null {
    const address = this.nodeAddress(nodeId);
    if (address === undefined) return null;
    const conn = this.slots.get(`${address.host}:${address.port}`)?.conn ?? null;
    return conn !== null && !conn.closed ? conn : null;
  }

  /**
   * A connection to some broker: the connected one with the fewest requests
   * in flight, else the first that accepts among the known brokers and the
   * bootstrap servers. Rejects with ConnectionError listing every failure.
   */
  async anyConnection(): Promise<BrokerConnection> {
    if (this.isClosed) throw new ClientClosedError('the client is closed');
    let best: BrokerConnection | null = null;
    for (const slot of this.slots.values()) {
      const c = slot.conn;
      if (c !== null && !c.closed && (best === null || c.inFlight < best.inFlight)) best = c;
    }
    if (best !== null) return best;
    const candidates: Slot[] = [];
    const seen = new Set<string>();
    const add = (a: BrokerAddress): void => {
      const s = this.slot(a);
      if (!seen.has(s.key)) {
        seen.add(s.key);
        candidates.push(s);
      }
    };
    for (const b of this.current.brokers.values()) add({ host: b.host, port: b.port });
    for (const b of this.bootstrap) add(b);
    // Those out of backoff first, in list order (sort is stable).
    const now = Date.now();
    candidates.sort((a, b) => Math.max(a.nextAttemptAt, now) - Math.max(b.nextAttemptAt, now));
    const failures: string[] = [];
    for (const s of candidates) {
      try {
        return await this.connectionTo(s.address);
      } catch (error) {
        if (this.isClosed) throw error;
        const e = error as Error & { code?: number };
        failures.push(`${s.key} (${describeConnectFailure(e)})`);
      }
    }
    throw new ConnectionError(
      candidates.map((c) => c.key).join(','),
      `could not connect to any broker: ${failures.join(', ')}`,
    );
  }

  // ---------------------------------------------------------------- metadata

  /**
   * Sends one Metadata request on `conn`. `topics` null means every topic.
   * Returns the raw response.
   */
  async fetchMetadata(
    conn: BrokerConnection,
    topics: readonly string[] | null,
    allowAutoTopicCreation: boolean,
    timeoutMs?: number,
  ): Promise<MetadataResponse> {
    return conn.request(
      ApiKey.Metadata,
      (v) => ({
        topics: topics === null ? null : topics.map((name) => ({ name })),
        ...(v >= 4 ? { allowAutoTopicCreation } : {}),
      }),
      { timeoutMs },
    );
  }

  /** Refreshes metadata for the tracked topics now (coalesced with one in flight). */
  refreshMetadata(): Promise<ClusterMetadata> {
    if (this.isClosed) return Promise.reject(new ClientClosedError('the client is closed'));
    if (this.refreshing !== null) return this.refreshing;
    const p = this.doRefresh();
    this.refreshing = p;
    const done = (): void => {
      this.refreshing = null;
      for (const l of this.listeners) l();
      if (this.needUpdate) this.maybeRefresh();
    };
    p.then(done, done);
    return p;
  }

  private async doRefresh(): Promise<ClusterMetadata> {
    this.lastRefreshAttempt = Date.now();
    this.needUpdate = false;
    const topics = [...this.tracked];
    try {
      const conn = await this.anyConnection();
      const response = await this.fetchMetadata(conn, topics, this.options.allowAutoTopicCreation);
      this.apply(response, topics);
      return this.current;
    } catch (error) {
      this.needUpdate = true;
      throw error;
    }
  }

  /** Merges a Metadata response into the cache; `requested` are the topics asked for (null = all). */
  apply(response: MetadataResponse, requested: readonly string[] | null): void {
    const brokers = new Map<number, BrokerNode>();
    for (const b of response.brokers) brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack ?? null });
    const topics = new Map(this.current.topics);
    if (requested === null) topics.clear();
    for (const t of response.topics) {
      if (t.name === null) continue;
      if (t.errorCode !== ErrorCode.NONE) {
        this.topicErrors.set(t.name, t.errorCode);
        topics.delete(t.name);
        continue;
      }
      this.topicErrors.delete(t.name);
      const partitions: PartitionMetadata[] = [];
      for (const p of t.partitions) {
        partitions[p.partitionIndex] = {
          partition: p.partitionIndex,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch ?? -1,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
          offlineReplicas: p.offlineReplicas ?? [],
          errorCode: p.errorCode,
        };
      }
      topics.set(t.name, { name: t.name, topicId: t.topicId ?? ZERO_UUID, isInternal: t.isInternal ?? false, partitions });
    }
    if (requested !== null) {
      // Topics asked for but absent from the answer are gone.
      const answered = new Set(response.topics.map((t) => t.name));
      for (const name of requested) if (!answered.has(name)) topics.delete(name);
    }
    this.current = new ClusterMetadata(response.clusterId ?? null, response.controllerId ?? -1, brokers, topics, Date.now());
  }

  /** Asks for a metadata refresh soon (respecting `retry.backoff.ms`). */
  requestUpdate(): void {
    this.needUpdate = true;
    this.maybeRefresh();
  }

  /** Starts a background refresh when one was requested or the cache is older than `metadata.max.age.ms`. */
  maybeRefresh(): void {
    if (this.isClosed || this.refreshing !== null) return;
    const now = Date.now();
    const stale = now - this.current.fetchedAt >= this.options.metadataMaxAgeMs;
    if (!this.needUpdate && !stale) return;
    const wait = this.lastRefreshAttempt + this.options.retryBackoffMs - now;
    if (wait > 0) {
      if (this.refreshTimer === null) {
        this.refreshTimer = setTimeout(() => {
          this.refreshTimer = null;
          this.maybeRefresh();
        }, wait);
      }
      return;
    }
    this.refreshMetadata().catch((error: Error) => {
      this.logger.debug('metadata refresh failed', { error: error.message });
    });
  }

  /**
   * Waits until metadata knows `topic` (tracking it), refreshing as needed,
   * until `deadline` (epoch ms). Rejects with KafkaError for fatal topic
   * errors (e.g. INVALID_TOPIC_EXCEPTION) and TimeoutError at the deadline.
   */
  async waitForTopic(topic: string, deadline: number): Promise<TopicMetadata> {
    this.trackTopics([topic]);
    const started = Date.now();
    let lastError: Error | null = null;
    for (;;) {
      if (this.isClosed) throw new ClientClosedError('the client is closed');
      const known = this.current.topics.get(topic);
      if (known !== undefined && known.partitions.length > 0) return known;
      const code = this.topicErrors.get(topic);
      if (code !== undefined && FATAL_TOPIC_ERRORS.has(code)) throw new KafkaError(code, `topic '${topic}'`);
      const now = Date.now();
      if (now >= deadline) {
        const why =
          code !== undefined
            ? ` (last error: ${new KafkaError(code).errorName})`
            : lastError !== null
              ? ` (last error: ${lastError.message})`
              : '';
        throw new TimeoutError(`Topic ${topic} not present in metadata after ${Math.max(0, deadline - started)} ms${why}`);
      }
      const wait = Math.min(this.lastRefreshAttempt + this.options.retryBackoffMs - now, deadline - now);
      if (wait > 0) await sleep(wait, this.abort.signal);
      try {
        await this.raceDeadline(this.refreshMetadata(), deadline);
      } catch (error) {
        if (error instanceof ClientClosedError) throw error;
        lastError = error as Error;
      }
    }
  }

  /** Resolves/rejects like `p`, or rejects with TimeoutError at `deadline`. */
  async raceDeadline<T>(p: Promise<T>, deadline: number): Promise<T> {
    const ms = deadline - Date.now();
    if (ms <= 0) {
      p.catch(() => undefined);
      throw new TimeoutError('deadline passed');
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`timed out after ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
      p.catch(() => undefined);
    }
  }

  /** Closes every connection; pending requests fail with ClientClosedError. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.abort.abort();
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    for (const slot of this.slots.values()) {
      slot.conn?.close();
      slot.conn = null;
    }
  }
}

function describeConnectFailure(error: Error): string {
  const m = /cannot connect: (\S+)/.exec(error.message);
  if (m) return m[1]!;
  return error.message.replace(/^NETWORK_EXCEPTION: [^:]+:\d+: /, '');
}
