/**
 * Public types of the network layer: the connection a handler sees, the frame
 * handler contract, listener descriptions and the minimal logger interface.
 *
 * The network layer deals in whole Kafka frames (the bytes after the 4-byte
 * size prefix). It never decodes request headers and knows nothing of APIs,
 * topics or brokers.
 */

import { silentLogger } from '../logging.js';

export type { Logger, LogFields } from '../logging.js';

/** A logger that discards everything (the default). */
export const noopLogger = silentLogger;

/** One accepted client connection, as a frame handler sees it. */
export interface Connection {
  /** Unique per process, Kafka-style: `local:port-remote:port-seq`. */
  readonly id: string;
  /** Name of the listener that accepted it (e.g. `PLAINTEXT`). */
  readonly listenerName: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** True once the connection is closed or closing; responses are then dropped. */
  readonly closed: boolean;
  /**
   * Closes the connection at once (the socket is destroyed; responses not yet
   * written are dropped, queued requests are discarded). Idempotent.
   */
  close(reason?: string): void;
}

/**
 * Handles one request frame (without its 4-byte size prefix) and returns the
 * response body chunks (also without the size prefix; the network layer adds
 * it and writes all chunks with one vectored write, never concatenating
 * them), or `null` for "no response" (acks=0 produce). A response must not
 * be empty (Kafka frames never are); an empty one counts as a handler error.
 *
 * - Frames of one connection are handed over strictly one at a time, in
 *   arrival order: the handler for frame N+1 is called only after the result
 *   for frame N settled (Kafka mutes a channel while a request is in flight).
 *   Responses therefore go out in request order.
 * - `frame` may be a view into a larger socket read buffer (at most one read,
 *   ~64 KiB); copy it if you keep it for long.
 * - The returned buffers are written without copying: do not modify them
 *   afterwards.
 * - Throwing or rejecting closes this connection only (logged at error).
 */
export type FrameHandler = (
  frame: Buffer,
  conn: Connection,
) => Promise<Buffer[] | null> | Buffer[] | null;

/** A listener to bind (Kafka's `listeners` entry). */
export interface ListenerConfig {
  /** Listener name, e.g. `PLAINTEXT`; reported on each connection. */
  readonly name: string;
  /**
   * Interface to bind. `''` binds all interfaces (IPv6 and IPv4 where
   * available), `'0.0.0.0'` all IPv4 interfaces.
   */
  readonly host: string;
  /** Port; 0 picks a free one (see what `start()` returns). */
  readonly port: number;
}

/** A listener as actually bound. */
export interface BoundListener {
  readonly name: string;
  /** The host as configured. */
  readonly host: string;
  /** The port actually bound (the chosen one when 0 was asked for). */
  readonly port: number;
  /** The address actually bound, e.g. `127.0.0.1` or `::`. */
  readonly address: string;
}
