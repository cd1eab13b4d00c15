/**
 * The failover probe of the cluster benchmark: an idealised producer that
 * sends one acks=all Produce at a time to one partition's leader, pausing
 * `intervalMs` between attempts, and records when each attempt succeeded
 * and on which broker. On any failure (connection refused or closed,
 * NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, a timeout) it asks for
 * Metadata again, from the brokers in turn, so it follows the leader as
 * soon as any broker reports the move.
 *
 * It speaks the wire protocol through Ganglion's BrokerConnection and does
 * nothing else (no batching, no backoff growth), so the time it takes to
 * get an acknowledgment after a fault is the cluster's, plus at most one
 * interval and one metadata round trip; a real client adds its own
 * retry.backoff and metadata refresh policy on top.
 */
import { performance } from 'node:perf_hooks';
import { BrokerConnection } from '../src/client/connection.js';
import { errorName } from '../src/protocol/errors.js';
import { ApiKey } from '../src/protocol/messages/api-table.js';
import { buildBatch } from '../src/protocol/records/index.js';

export interface ProbeBroker {
  id: number;
  host: string;
  port: number;
}

export interface ProbeOptions {
  brokers: readonly ProbeBroker[];
  topic: string;
  partition: number;
  recordSize: number;
  intervalMs: number;
  /** The Produce request's own timeout (the broker answers REQUEST_TIMED_OUT after it). */
  produceTimeoutMs: number;
}

export interface ProbeEvent {
  /** performance.now() when the answer (or failure) arrived. */
  at: number;
  /** The broker the probe sent to; for a leader change seen in Metadata, the new leader. */
  broker: number;
  kind: 'acked' | 'error' | 'leader';
  /** Error name for 'error'. */
  detail?: string;
}

export class FailoverProbe {
  readonly events: ProbeEvent[] = [];
  acked = 0;
  private readonly connections = new Map<number, Promise<BrokerConnection>>();
  private leader = -1;
  private nextMetadataBroker = 0;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private readonly batch: Buffer;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly o: ProbeOptions) {
    this.batch = buildBatch([{ value: Buffer.alloc(o.recordSize, 0x62) }]);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops after the attempt in flight and closes the connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    for (const c of this.connections.values()) void c.then((conn) => conn.close()).catch(() => undefined);
    this.connections.clear();
  }

  /** Resolves once `cond` holds over the events (re-checked after each); rejects after `timeoutMs`. */
  until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!cond()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`failover probe: timed out after ${timeoutMs} ms waiting for ${what}; last events: ${JSON.stringify(this.events.slice(-5))}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  private record(event: ProbeEvent): void {
    this.events.push(event);
    for (const w of [...this.waiters]) w();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.leader < 0) await this.refreshLeader();
      if (this.leader >= 0) await this.produceOnce(this.leader);
      if (!this.stopped) await new Promise((r) => setTimeout(r, this.o.intervalMs));
    }
  }

  private async produceOnce(leader: number): Promise<void> {
    try {
      const conn = await this.connection(leader);
      const response = await conn.request(
        ApiKey.Produce,
        {
          transactionalId: null,
          acks: -1,
          timeoutMs: this.o.produceTimeoutMs,
          topicData: [{ name: this.o.topic, partitionData: [{ index: this.o.partition, records: this.batch }] }],
        },
        { timeoutMs: this.o.produceTimeoutMs + 2000 },
      );
      const p = response.responses[0]?.partitionResponses[0];
      const code = p?.errorCode ?? -1;
      if (code === 0) {
        this.acked++;
        this.record({ at: performance.now(), broker: leader, kind: 'acked' });
        return;
      }
      this.record({ at: performance.now(), broker: leader, kind: 'error', detail: code === -1 ? 'EMPTY_RESPONSE' : errorName(code) });
    } catch (error) {
      this.dropConnection(leader);
      this.record({ at: performance.now(), broker: leader, kind: 'error', detail: error instanceof Error ? error.name : 'Error' });
    }
    this.leader = -1;
  }

  /** Asks the brokers in turn (the first that answers) who leads the partition. */
  private async refreshLeader(): Promise<void> {
    const n = this.o.brokers.length;
    for (let tried = 0; tried < n && !this.stopped; tried++) {
      const b = this.o.brokers[this.nextMetadataBroker++ % n]!;
      try {
        const conn = await this.connection(b.id);
        const md = await conn.request(ApiKey.Metadata, {
          topics: [{ name: this.o.topic }],
          allowAutoTopicCreation: false,
          includeClusterAuthorizedOperations: false,
          includeTopicAuthorizedOperations: false,
        });
        const p = md.topics[0]?.partitions.find((q) => q.partitionIndex === this.o.partition);
        const leader = p && p.errorCode === 0 ? p.leaderId : -1;
        if (leader >= 0 && leader !== this.lastLeaderSeen()) this.record({ at: performance.now(), broker: leader, kind: 'leader' });
        this.leader = leader;
        return;
      } catch {
        this.dropConnection(b.id);
      }
    }
  }

  private lastLeaderSeen(): number {
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i]!.kind === 'leader') return this.events[i]!.broker;
    return -1;
  }

  private connection(id: number): Promise<BrokerConnection> {
    let c = this.connections.get(id);
    if (!c) {
      const b = this.o.brokers.find((x) => x.id === id);
      if (!b) return Promise.reject(new Error(`broker ${id} is not known to the probe`));
      c = BrokerConnection.open({
        host: b.host,
        port: b.port,
        clientId: 'cluster-bench-probe',
        requestTimeoutMs: 10_000,
        connectTimeoutMs: 2_000,
        maxResponseBytes: 16 * 1024 * 1024,
      });
      c.then((conn) => conn.onClose(() => this.connections.get(id) === c && this.connections.delete(id))).catch(() => undefined);
      this.connections.set(id, c);
    }
    return c;
  }

  private dropConnection(id: number): void {
    const c = this.connections.get(id);
    this.connections.delete(id);
    void c?.then((conn) => conn.close()).catch(() => undefined);
  }
}
