/**
 * The controller's line to each live broker (Kafka's ControllerChannelManager):
 * one connection per broker, requests sent one at a time in the order the
 * controller issued them, each retried until it is answered or the broker
 * leaves the cluster. Order matters: a LeaderAndIsr must never overtake an
 * older one for the same broker.
 */
import { PeerConnection } from '../../broker/peer-connection.js';
import type { Logger } from '../../logging.js';
import type { ApiKey, ApiRequest, ApiResponse } from '../../protocol/messages/api-table.js';
import { endpointFor } from '../endpoints.js';
import type { BrokerRegistration } from '../types.js';

export interface ControllerChannelOptions {
  controllerId: number;
  /** The listener brokers talk to each other on. */
  listenerName: string;
  /** controller.socket.timeout.ms */
  requestTimeoutMs: number;
  logger: Logger;
}

interface QueuedRequest {
  apiKey: ApiKey;
  minVersion: number;
  body: (version: number) => unknown;
  onResponse?: (response: unknown) => void;
}

const RETRY_BACKOFF_MS = 100;

/** The queue and connection of one broker. */
class BrokerLine {
  private readonly queue: QueuedRequest[] = [];
  private readonly connection: PeerConnection;
  private running = false;
  private stopped = false;

  constructor(
    private broker: BrokerRegistration,
    private readonly options: ControllerChannelOptions,
  ) {
    this.connection = new PeerConnection({
      clientId: `controller-${options.controllerId}`,
      requestTimeoutMs: options.requestTimeoutMs,
      connectTimeoutMs: options.requestTimeoutMs,
      maxResponseBytes: 100 * 1024 * 1024,
      logger: options.logger,
    });
  }

  /** The broker re-registered: the next request goes to its current address. */
  update(broker: BrokerRegistration): void {
    this.broker = broker;
  }

  enqueue(request: QueuedRequest): void {
    if (this.stopped) return;
    this.queue.push(request);
    if (!this.running) void this.drain();
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.connection.close();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (!this.stopped && this.queue.length > 0) {
        const request = this.queue[0]!;
        const response = await this.sendWithRetry(request);
        if (this.stopped) return;
        this.queue.shift();
        if (response !== undefined) request.onResponse?.(response);
      }
    } finally {
      this.running = false;
    }
  }

  private async sendWithRetry(request: QueuedRequest): Promise<unknown> {
    let attempt = 0;
    while (!this.stopped) {
      try {
        const conn = await this.connection.to(this.address());
        return await conn.request(request.apiKey, request.body as (v: number) => ApiRequest<ApiKey>, {
          minVersion: request.minVersion,
        });
      } catch (error) {
        if (this.stopped) return undefined;
        if (attempt++ % 50 === 0) {
          this.options.logger.warn('controller request to a broker failed; retrying', {
            brokerId: this.broker.brokerId,
            apiKey: request.apiKey,
            err: String(error),
          });
        }
        this.connection.drop();
        await new Promise((resolve) => setTimeout(resolve, RETRY_BACKOFF_MS));
      }
    }
    return undefined;
  }

  private address(): { host: string; port: number } {
    const endpoint = endpointFor(this.broker, this.options.listenerName);
    if (!endpoint) throw new Error(`broker ${this.broker.brokerId} registered no endpoint`);
    return endpoint;
  }
}

export class ControllerChannel {
  private readonly lines = new Map<number, BrokerLine>();

  constructor(private readonly options: ControllerChannelOptions) {}

  /** Starts (or re-points) the line to a broker. */
  addBroker(broker: BrokerRegistration): void {
    const line = this.lines.get(broker.brokerId);
    if (line) line.update(broker);
    else this.lines.set(broker.brokerId, new BrokerLine(broker, this.options));
  }

  /** Drops a broker's line and everything queued for it. */
  removeBroker(brokerId: number): void {
    this.lines.get(brokerId)?.stop();
    this.lines.delete(brokerId);
  }

  /** Queues a request for a broker; `onResponse` runs with its answer. Unknown brokers are skipped. */
  send<K extends ApiKey>(
    brokerId: number,
    apiKey: K,
    minVersion: number,
    body: (version: number) => ApiRequest<K>,
    onResponse?: (response: ApiResponse<K>) => void,
  ): void {
    this.lines.get(brokerId)?.enqueue({ apiKey, minVersion, body, onResponse: onResponse as (r: unknown) => void });
  }

  close(): void {
    for (const line of this.lines.values()) line.stop();
    this.lines.clear();
  }
}
