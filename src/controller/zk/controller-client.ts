/**
 * A broker's connection to the active controller (Kafka's
 * BrokerToControllerChannel): one connection at a time, to whichever broker
 * the caller names as controller. Naming another broker (the controller
 * moved) drops the old connection; a connection that fails is dropped and
 * reopened on the next request.
 */
import { BrokerConnection } from '../../client/connection.js';
import type { Logger } from '../../logging.js';
import type { ApiKey, ApiRequest, ApiResponse } from '../../protocol/messages/api-table.js';

/** The controller's inter-broker address. */
export interface ControllerTarget {
  brokerId: number;
  host: string;
  port: number;
}

export interface ControllerClientOptions {
  /** This broker's id, in the connection's client id (as Kafka's `broker-<id>-...` channels). */
  brokerId: number;
  /** controller.socket.timeout.ms: connect and per-request timeout. */
  requestTimeoutMs: number;
  /** socket.request.max.bytes: the largest response frame accepted. */
  maxResponseBytes: number;
  logger: Logger;
}

export class ControllerClient {
  private connection: BrokerConnection | null = null;
  /** The connection being opened, for which target. */
  private opening: { key: string; promise: Promise<BrokerConnection> } | null = null;
  private key = '';
  private closed = false;

  constructor(private readonly options: ControllerClientOptions) {}

  /**
   * Sends one request to `target` at the newest version both sides speak
   * within [minVersion, maxVersion]. Rejects with the client's errors
   * (ConnectionError, RequestTimeoutError, UnsupportedVersionError).
   */
  async request<K extends ApiKey>(
    target: ControllerTarget,
    apiKey: K,
    body: (version: number) => ApiRequest<K>,
    range: { minVersion?: number; maxVersion?: number } = {},
  ): Promise<ApiResponse<K>> {
    const connection = await this.connectTo(target);
    try {
      return await connection.request(apiKey, body, range);
    } catch (err) {
      if (connection.closed) this.forget(connection);
      throw err;
    }
  }

  close(): void {
    this.closed = true;
    this.drop();
  }

  private async connectTo(target: ControllerTarget): Promise<BrokerConnection> {
    if (this.closed) throw new Error('the controller client is closed');
    const key = `${target.brokerId}@${target.host}:${target.port}`;
    if (key !== this.key) {
      this.drop();
      this.key = key;
    }
    if (this.connection && !this.connection.closed) return this.connection;
    if (this.opening?.key !== key) {
      const entry = {
        key,
        promise: BrokerConnection.open({
          host: target.host,
          port: target.port,
          clientId: `broker-${this.options.brokerId}-to-controller`,
          requestTimeoutMs: this.options.requestTimeoutMs,
          connectTimeoutMs: this.options.requestTimeoutMs,
          maxResponseBytes: this.options.maxResponseBytes,
          logger: this.options.logger,
        }),
      };
      this.opening = entry;
      const settled = () => {
        if (this.opening === entry) this.opening = null;
      };
      entry.promise.then(settled, settled);
    }
    const connection = await this.opening!.promise;
    if (this.key !== key || this.closed) {
      // The controller moved (or we closed) while connecting.
      connection.close();
      throw new Error(`the controller moved away from broker ${target.brokerId} while connecting`);
    }
    if (this.connection !== connection) {
      this.connection?.close();
      this.connection = connection;
    }
    return connection;
  }

  private forget(connection: BrokerConnection): void {
    if (this.connection === connection) this.connection = null;
  }

  private drop(): void {
    this.connection?.close();
    this.connection = null;
    this.key = '';
  }
}
