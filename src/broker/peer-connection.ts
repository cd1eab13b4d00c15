/**
 * One broker's connection to another, opened on first use: the controller's
 * line to each broker and the transaction coordinator's marker line use it.
 * Their callers send one request at a time, so there is never a second open
 * in flight. The connection is reopened when it closed or when the peer
 * re-registered on another address; one that finishes opening after close()
 * is closed at once rather than left behind.
 */
import { BrokerConnection, type ConnectionOptions } from '../client/connection.js';
import type { BrokerAddress } from './cluster-link.js';

export type PeerConnectionOptions = Omit<ConnectionOptions, 'host' | 'port'>;

export class PeerConnection {
  private connection: BrokerConnection | null = null;
  private address: BrokerAddress | null = null;
  private closed = false;

  constructor(private readonly options: PeerConnectionOptions) {}

  /** The open connection to `address`, opening it (again) when needed. */
  async to(address: BrokerAddress): Promise<BrokerConnection> {
    if (this.closed) throw new Error('the connection to the broker was closed');
    if (this.connection && !this.connection.closed && this.address?.host === address.host && this.address.port === address.port) {
      return this.connection;
    }
    this.drop();
    const connection = await BrokerConnection.open({ ...this.options, host: address.host, port: address.port });
    if (this.closed) {
      connection.close();
      throw new Error('the connection to the broker was closed while opening');
    }
    this.connection = connection;
    this.address = address;
    return connection;
  }

  /** Closes the current connection (after a failed request); the next `to` opens a new one. */
  drop(): void {
    this.connection?.close();
    this.connection = null;
  }

  /** Closes for good. */
  close(): void {
    this.closed = true;
    this.drop();
  }
}
