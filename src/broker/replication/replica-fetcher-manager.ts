/**
 * The replica fetchers of one broker (Kafka's ReplicaFetcherManager): the
 * partitions it follows, grouped by leader into fetchers, num.replica.fetchers
 * per leader at most (a partition's fetcher is picked by hashing its topic
 * and index, as Kafka does). A fetcher left without partitions stops and
 * closes its connection.
 */
import type { BrokerConfig } from '../../config/index.js';
import type { Logger } from '../../logging.js';
import type { ClusterLink } from '../cluster-link.js';
import type { Partition } from '../partition.js';
import { ReplicaFetcher, type ReplicaFetcherSettings } from './replica-fetcher.js';

export interface ReplicaFetcherManagerOptions {
  brokerId: number;
  config: BrokerConfig;
  clusterLink: () => ClusterLink | null;
  logger: Logger;
}

export class ReplicaFetcherManager {
  /** By `<source broker>-<fetcher id>`. */
  private readonly fetchers = new Map<string, ReplicaFetcher>();
  /** Partition key -> the fetcher following it. */
  private readonly assigned = new Map<string, ReplicaFetcher>();
  private readonly settings: ReplicaFetcherSettings;
  private readonly numFetchers: number;
  private stopped = false;

  constructor(private readonly options: ReplicaFetcherManagerOptions) {
    const { config } = options;
    this.numFetchers = Math.max(1, config.get('num.replica.fetchers'));
    this.settings = {
      fetchMaxBytes: config.get('replica.fetch.max.bytes'),
      fetchResponseMaxBytes: config.get('replica.fetch.response.max.bytes'),
      fetchWaitMaxMs: config.get('replica.fetch.wait.max.ms'),
      fetchMinBytes: config.get('replica.fetch.min.bytes'),
      fetchBackoffMs: config.get('replica.fetch.backoff.ms'),
      socketTimeoutMs: config.get('replica.socket.timeout.ms'),
      messageMaxBytes: config.get('message.max.bytes'),
    };
  }

  /** Follows `partition` from `leaderId` at its current leader epoch (replacing any earlier following). */
  addPartition(partition: Partition, leaderId: number): void {
    if (this.stopped) return;
    const fetcherId = fetcherIdFor(partition.topic, partition.index, this.numFetchers);
    const key = `${leaderId}-${fetcherId}`;
    let fetcher = this.fetchers.get(key);
    const current = this.assigned.get(partition.key);
    if (current !== undefined && current !== fetcher) this.removePartition(partition);
    if (!fetcher) {
      fetcher = new ReplicaFetcher({
        brokerId: this.options.brokerId,
        sourceBrokerId: leaderId,
        fetcherId,
        settings: this.settings,
        clusterLink: this.options.clusterLink,
        logger: this.options.logger,
      });
      this.fetchers.set(key, fetcher);
    }
    fetcher.add(partition);
    this.assigned.set(partition.key, fetcher);
  }

  removePartition(partition: Partition): void {
    const fetcher = this.assigned.get(partition.key);
    if (fetcher === undefined) return;
    this.assigned.delete(partition.key);
    fetcher.remove(partition);
    if (fetcher.size > 0) return;
    for (const [key, f] of this.fetchers) if (f === fetcher) this.fetchers.delete(key);
    void fetcher.stop();
  }

  /** The link (broker addresses) changed: fetchers waiting for an address retry now. */
  clusterLinkChanged(): void {
    for (const fetcher of this.fetchers.values()) fetcher.kick();
  }

  /** Number of running fetchers (tests, metrics). */
  get fetcherCount(): number {
    return this.fetchers.size;
  }

  /** Whether `partition` is being fetched from a leader. */
  isFollowing(partition: Partition): boolean {
    return this.assigned.has(partition.key);
  }

  /** Stops every fetcher and waits for them (before the logs close). */
  async shutdown(): Promise<void> {
    this.stopped = true;
    const all = [...this.fetchers.values()];
    this.fetchers.clear();
    this.assigned.clear();
    await Promise.all(all.map((f) => f.stop()));
  }
}

/** Kafka's getFetcherId: abs(31 * topic.hashCode + partition) % numFetchers, with Java's String.hashCode. */
export function fetcherIdFor(topic: string, partition: number, numFetchers: number): number {
  let hash = 0;
  for (let i = 0; i < topic.length; i++) hash = (Math.imul(31, hash) + topic.charCodeAt(i)) | 0;
  const mixed = (Math.imul(31, hash) + partition) | 0;
  // Kafka's Utils.abs maps Integer.MIN_VALUE to 0.
  return (mixed === -2147483648 ? 0 : Math.abs(mixed)) % numFetchers;
}
