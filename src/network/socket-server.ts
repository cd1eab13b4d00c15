/**
 * The broker's TCP front door: binds Kafka listeners, accepts connections,
 * splits the byte stream into frames and hands them to one `FrameHandler`,
 * writing back what it returns. Knows nothing of Kafka APIs or topics.
 *
 * Semantics follow Kafka's SocketServer: one request at a time per
 * connection, responses in request order, bounded buffering with socket
 * back-pressure in both directions, oversized or malformed size prefixes
 * close the connection, idle connections expire, a connection cap, and a
 * graceful stop.
 */
import net from 'node:net';
import { MAX_FRAME_BYTES_LIMIT } from './frame-decoder.js';
import { ServerConnection, type ConnectionLimits } from './connection.js';
import { noopLogger, type BoundListener, type FrameHandler, type ListenerConfig, type Logger } from './types.js';

/** Default for `maxInFlightBytesPerConnection`: 16 MiB of received, unprocessed requests. */
export const DEFAULT_MAX_IN_FLIGHT_BYTES_PER_CONNECTION = 16 * 1024 * 1024;
/** Default for `maxQueuedRequestsPerConnection`. */
export const DEFAULT_MAX_QUEUED_REQUESTS_PER_CONNECTION = 128;
/** Default for `writeHighWaterMarkBytes`: 1 MiB of unsent response bytes. */
export const DEFAULT_WRITE_HIGH_WATER_MARK_BYTES = 1024 * 1024;
/** Kafka's `connections.max.idle.ms` default (10 minutes). */
export const DEFAULT_CONNECTIONS_MAX_IDLE_MS = 600_000;
/** Default for `stop({ graceMs })`. */
export const DEFAULT_STOP_GRACE_MS = 5_000;

export interface SocketServerOptions {
  /** Listeners to bind; names must be unique. */
  readonly listeners: readonly ListenerConfig[];
  /** Called with every request frame; see `FrameHandler`. */
  readonly handler: FrameHandler;
  /**
   * Largest request frame accepted (Kafka's `socket.request.max.bytes`,
   * default there 104857600). A larger or non-positive declared size closes
   * the connection without allocating anything of that size.
   */
  readonly maxRequestBytes: number;
  /**
   * Reading a connection pauses once the requests received but not yet handed
   * to the handler total more than this many bytes (resumes as they are
   * processed). Default 16 MiB. A single request larger than this is still
   * accepted (up to `maxRequestBytes`).
   */
  readonly maxInFlightBytesPerConnection?: number;
  /**
   * Reading a connection pauses once this many received requests wait for
   * the handler. Default 128. (One socket read can overshoot it.)
   */
  readonly maxQueuedRequestsPerConnection?: number;
  /**
   * While more than this many response bytes wait to be written to a
   * connection (its peer is not reading), no further request of that
   * connection is handed to the handler and reading is paused, until the
   * socket drains. Default 1 MiB; never below the socket's own high-water mark.
   */
  readonly writeHighWaterMarkBytes?: number;
  /**
   * Close connections without any traffic for this long (Kafka's
   * `connections.max.idle.ms`). Default 600000. 0 or Infinity disables.
   * A connection with a request in progress or unsent responses is not idle.
   */
  readonly connectionsMaxIdleMs?: number;
  /**
   * Connections beyond this many (over all listeners) are closed as soon as
   * accepted (Kafka's `max.connections`). Default unlimited.
   */
  readonly maxConnections?: number;
  /** Structured logger; default discards. */
  readonly logger?: Logger;
}

/** `start()` failed to bind a listener (EADDRINUSE, EACCES, ...). */
export class ListenerBindError extends Error {
  override readonly name = 'ListenerBindError';
  /** The system error code, e.g. `EADDRINUSE`. */
  readonly code: string;
  constructor(
    readonly listener: ListenerConfig,
    cause: unknown,
  ) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? 'UNKNOWN';
    const why: Record<string, string> = {
      EADDRINUSE: 'address already in use (another process or listener is bound to it)',
      EACCES: 'permission denied (ports below 1024 need privileges)',
      EADDRNOTAVAIL: 'address not available on this host',
      ENOTFOUND: 'host name not found',
      EAI_AGAIN: 'host name lookup failed',
    };
    const hostPort = `${listener.host === '' ? '*' : listener.host}:${listener.port}`;
    const detail = why[code] ?? (cause instanceof Error ? cause.message : String(cause));
    super(`listener ${listener.name} cannot bind ${hostPort}: ${detail}${code in why ? ` (${code})` : ''}`, {
      cause,
    });
    this.code = code;
  }
}

type ServerState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

function positiveInt(name: string, v: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v < 1 || v > max) {
    throw new RangeError(`${name} must be an integer in [1, ${max}], got ${v}`);
  }
  return v;
}

export class SocketServer {
  private readonly handler: FrameHandler;
  private readonly logger: Logger;
  private readonly listenerConfigs: readonly ListenerConfig[];
  private readonly limits: ConnectionLimits;
  private readonly maxConnections: number;
  private readonly servers: net.Server[] = [];
  private readonly conns = new Set<ServerConnection>();
  private bound: BoundListener[] = [];
  private state: ServerState = 'new';
  private startPromise: Promise<BoundListener[]> | null = null;
  private stopPromise: Promise<void> | null = null;
  private onEmpty: (() => void) | null = null;

  constructor(opts: SocketServerOptions) {
    if (opts.listeners.length === 0) throw new RangeError('at least one listener is required');
    const names = new Set<string>();
    for (const l of opts.listeners) {
      if (names.has(l.name)) throw new RangeError(`duplicate listener name ${l.name}`);
      names.add(l.name);
      if (!Number.isInteger(l.port) || l.port < 0 || l.port > 65535) {
        throw new RangeError(`listener ${l.name}: port must be an integer in [0, 65535], got ${l.port}`);
      }
    }
    this.listenerConfigs = [...opts.listeners];
    this.handler = opts.handler;
    this.logger = opts.logger ?? noopLogger;
    const idle = opts.connectionsMaxIdleMs ?? DEFAULT_CONNECTIONS_MAX_IDLE_MS;
    if (!(idle >= 0)) throw new RangeError(`connectionsMaxIdleMs must be >= 0, got ${idle}`);
    this.limits = {
      maxRequestBytes: positiveInt('maxRequestBytes', opts.maxRequestBytes, MAX_FRAME_BYTES_LIMIT),
      maxInFlightBytes: positiveInt(
        'maxInFlightBytesPerConnection',
        opts.maxInFlightBytesPerConnection ?? DEFAULT_MAX_IN_FLIGHT_BYTES_PER_CONNECTION,
      ),
      maxQueuedRequests: positiveInt(
        'maxQueuedRequestsPerConnection',
        opts.maxQueuedRequestsPerConnection ?? DEFAULT_MAX_QUEUED_REQUESTS_PER_CONNECTION,
      ),
      writeHighWaterMark: positiveInt(
        'writeHighWaterMarkBytes',
        opts.writeHighWaterMarkBytes ?? DEFAULT_WRITE_HIGH_WATER_MARK_BYTES,
      ),
      // setTimeout takes at most a 32-bit delay; beyond that, never.
      idleMs: idle === Infinity || idle > 0x7fffffff ? 0 : Math.floor(idle),
    };
    const maxConns = opts.maxConnections ?? Infinity;
    if (!(maxConns >= 1)) throw new RangeError(`maxConnections must be >= 1, got ${maxConns}`);
    this.maxConnections = maxConns;
  }

  /** Number of open connections over all listeners. */
  get connectionCount(): number {
    return this.conns.size;
  }

  /** The listeners as bound (empty before `start()` resolves). */
  get listeners(): readonly BoundListener[] {
    return this.bound;
  }

  /**
   * Binds every listener. Resolves with the real ports (a requested 0 becomes
   * the chosen port). If any listener fails to bind, those already bound are
   * closed and the promise rejects with a `ListenerBindError`.
   */
  start(): Promise<BoundListener[]> {
    if (this.startPromise !== null) return Promise.reject(new Error('SocketServer.start() called twice'));
    this.startPromise = this.doStart();
    return this.startPromise;
  }

  private async doStart(): Promise<BoundListener[]> {
    this.state = 'starting';
    const bound: BoundListener[] = [];
    try {
      for (const l of this.listenerConfigs) {
        bound.push(await this.listen(l));
        if (this.state !== 'starting') throw new Error('SocketServer stopped while starting');
      }
    } catch (err) {
      await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      this.servers.length = 0;
      this.state = 'stopped';
      throw err;
    }
    this.bound = bound;
    this.state = 'running';
    for (const b of bound) {
      this.logger.info('listening', { listener: b.name, address: b.address, port: b.port });
    }
    return bound;
  }

  private listen(l: ListenerConfig): Promise<BoundListener> {
    return new Promise<BoundListener>((resolve, reject) => {
      const server = net.createServer({ allowHalfOpen: true });
      const onError = (err: Error) => {
        server.close();
        reject(new ListenerBindError(l, err));
      };
      server.once('error', onError);
      server.on('connection', (socket) => this.accept(socket, l.name));
      try {
        server.listen({ host: l.host === '' ? undefined : l.host, port: l.port }, () => {
          server.off('error', onError);
          server.on('error', (err) => this.logger.error('listener error', { listener: l.name, error: err.message }));
          this.servers.push(server);
          const addr = server.address() as net.AddressInfo;
          resolve({ name: l.name, host: l.host, port: addr.port, address: addr.address });
        });
      } catch (err) {
        server.off('error', onError);
        reject(new ListenerBindError(l, err));
      }
    });
  }

  private accept(socket: net.Socket, listenerName: string): void {
    // An 'error' before our connection object exists must not go unhandled.
    if (this.state !== 'running' && this.state !== 'starting') {
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    if (this.conns.size >= this.maxConnections) {
      this.logger.warn('refusing connection: max connections reached', {
        listener: listenerName,
        remote: `${socket.remoteAddress}:${socket.remotePort}`,
        maxConnections: this.maxConnections,
      });
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    const conn = new ServerConnection(socket, listenerName, this.handler, this.limits, this.logger, (c) =>
      this.onConnectionClosed(c),
    );
    this.conns.add(conn);
    this.logger.debug('connection accepted', { connection: conn.id, listener: listenerName });
  }

  private onConnectionClosed(conn: ServerConnection): void {
    this.conns.delete(conn);
    this.logger.debug('connection closed', { connection: conn.id, listener: conn.listenerName });
    if (this.conns.size === 0 && this.onEmpty !== null) this.onEmpty();
  }

  /**
   * Stops accepting, lets each connection's request in progress finish and
   * its response flush (requests queued behind it are dropped), ends every
   * connection, and after `graceMs` (default 5000) destroys whatever is still
   * open. Resolves when every listener and connection is closed. Idempotent.
   */
  stop(opts: { graceMs?: number } = {}): Promise<void> {
    if (this.stopPromise === null) this.stopPromise = this.doStop(opts.graceMs ?? DEFAULT_STOP_GRACE_MS);
    return this.stopPromise;
  }

  private async doStop(graceMs: number): Promise<void> {
    if (this.state === 'new') {
      this.state = 'stopped';
      return;
    }
    const wasStarting = this.state === 'starting';
    this.state = 'stopping';
    if (wasStarting && this.startPromise !== null) await this.startPromise.catch(() => {});
    const listenersClosed = this.servers.map((s) => new Promise<void>((r) => s.close(() => r())));
    for (const c of this.conns) c.shutdown();
    if (this.conns.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.onEmpty = resolve;
        timer = setTimeout(resolve, Math.max(0, graceMs));
      });
      clearTimeout(timer);
      this.onEmpty = null;
      for (const c of [...this.conns]) c.close('shutdown grace period expired');
    }
    await Promise.all(listenersClosed);
    this.servers.length = 0;
    this.state = 'stopped';
    this.logger.info('socket server stopped');
  }
}
