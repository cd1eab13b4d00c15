/**
 * The transaction coordinator's line to other brokers (Kafka's
 * TransactionMarkerChannelManager): COMMIT/ABORT markers for partitions led
 * elsewhere go to their leader as WriteTxnMarkers. One connection per
 * destination broker; markers queued for a broker while its previous request
 * is in flight (or in the same turn of the event loop) travel together in one
 * request. Each marker resolves with its partition's error code; a
 * connection failure resolves them with NETWORK_EXCEPTION, and an unknown
 * broker with BROKER_NOT_AVAILABLE: the coordinator retries, re-resolving
 * the partition's leader each time, so leader changes are followed.
 */
import type { Logger } from '../../logging.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type { WriteTxnMarkersRequestWritableTxnMarker, WriteTxnMarkersResponse } from '../../protocol/messages/write-txn-markers.js';
import type { BrokerAddress } from '../../broker/cluster-link.js';
import { PeerConnection } from '../../broker/peer-connection.js';
import type { MarkerTarget } from './types.js';

export interface MarkerChannelOptions {
  /** This broker's id (the client id of the connections). */
  brokerId: number;
  /** The inter-broker address of a live broker, undefined when unknown. */
  addressOf(brokerId: number): BrokerAddress | undefined;
  /** request.timeout.ms: how long a WriteTxnMarkers may take before the connection is dropped. */
  requestTimeoutMs: number;
  logger: Logger;
}

interface QueuedMarker {
  marker: MarkerTarget;
  resolve: (errorCode: number) => void;
}

/** What makes two markers the same WriteTxnMarkers entry. */
function entryKey(m: MarkerTarget): string {
  return `${m.producerId}:${m.producerEpoch}:${m.commit}:${m.coordinatorEpoch}`;
}

/** The queue and connection of one destination broker. */
class MarkerLine {
  private queue: QueuedMarker[] = [];
  private readonly connection: PeerConnection;
  private sending = false;
  private stopped = false;

  constructor(
    private readonly brokerId: number,
    private readonly options: MarkerChannelOptions,
  ) {
    this.connection = new PeerConnection({
      clientId: `txn-marker-sender-${options.brokerId}`,
      requestTimeoutMs: options.requestTimeoutMs,
      connectTimeoutMs: options.requestTimeoutMs,
      maxResponseBytes: 16 * 1024 * 1024,
      logger: options.logger,
    });
  }

  send(marker: MarkerTarget): Promise<number> {
    if (this.stopped) return Promise.resolve(ErrorCode.BROKER_NOT_AVAILABLE);
    return new Promise<number>((resolve) => {
      this.queue.push({ marker, resolve });
      // The next turn: markers the coordinator issues together leave together.
      if (!this.sending) setImmediate(() => void this.drain());
    });
  }

  stop(): void {
    this.stopped = true;
    for (const q of this.queue.splice(0)) q.resolve(ErrorCode.BROKER_NOT_AVAILABLE);
    this.connection.close();
  }

  private async drain(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (!this.stopped && this.queue.length > 0) await this.sendBatch(this.takeBatch());
    } finally {
      this.sending = false;
    }
  }

  /**
   * The queued markers that fit one request. The response names markers by
   * producer id only, so a producer appears under one entry per request;
   * another marker of the same producer waits for the next request.
   */
  private takeBatch(): QueuedMarker[] {
    const byProducer = new Map<number, string>();
    const batch: QueuedMarker[] = [];
    const rest: QueuedMarker[] = [];
    for (const q of this.queue) {
      const key = entryKey(q.marker);
      const seen = byProducer.get(q.marker.producerId);
      if (seen === undefined || seen === key) {
        byProducer.set(q.marker.producerId, key);
        batch.push(q);
      } else {
        rest.push(q);
      }
    }
    this.queue = rest;
    return batch;
  }

  private async sendBatch(batch: QueuedMarker[]): Promise<void> {
    const entries = new Map<string, WriteTxnMarkersRequestWritableTxnMarker>();
    for (const { marker: m } of batch) {
      const key = entryKey(m);
      let entry = entries.get(key);
      if (!entry) {
        entry = { producerId: BigInt(m.producerId), producerEpoch: m.producerEpoch, transactionResult: m.commit, coordinatorEpoch: m.coordinatorEpoch, topics: [] };
        entries.set(key, entry);
      }
      let topic = entry.topics.find((t) => t.name === m.topic);
      if (!topic) entry.topics.push((topic = { name: m.topic, partitionIndexes: [] }));
      if (!topic.partitionIndexes.includes(m.partition)) topic.partitionIndexes.push(m.partition);
    }
    let response: WriteTxnMarkersResponse;
    try {
      const address = this.options.addressOf(this.brokerId);
      if (!address) throw new Error(`broker ${this.brokerId} is not known to the metadata cache`);
      const conn = await this.connection.to(address);
      response = await conn.request(ApiKey.WriteTxnMarkers, { markers: [...entries.values()] });
    } catch (err) {
      this.options.logger.warn('sending transaction markers failed; the coordinator retries', { brokerId: this.brokerId, markers: batch.length, err: String(err) });
      this.connection.drop();
      for (const q of batch) q.resolve(ErrorCode.NETWORK_EXCEPTION);
      return;
    }
    const codes = new Map<string, number>();
    for (const r of response.markers) {
      for (const t of r.topics) for (const p of t.partitions) codes.set(`${r.producerId}:${t.name}:${p.partitionIndex}`, p.errorCode);
    }
    for (const { marker: m, resolve } of batch) resolve(codes.get(`${m.producerId}:${m.topic}:${m.partition}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR);
  }

}

export class TxnMarkerChannel {
  private readonly lines = new Map<number, MarkerLine>();
  private closed = false;

  constructor(private readonly options: MarkerChannelOptions) {}

  /** Sends one marker to `brokerId` (the partition's leader); resolves with the partition's error code, never rejects. */
  send(brokerId: number, marker: MarkerTarget): Promise<number> {
    if (this.closed) return Promise.resolve(ErrorCode.BROKER_NOT_AVAILABLE);
    if (!this.options.addressOf(brokerId)) return Promise.resolve(ErrorCode.BROKER_NOT_AVAILABLE);
    let line = this.lines.get(brokerId);
    if (!line) this.lines.set(brokerId, (line = new MarkerLine(brokerId, this.options)));
    return line.send(marker);
  }

  close(): void {
    this.closed = true;
    for (const line of this.lines.values()) line.stop();
    this.lines.clear();
  }
}
