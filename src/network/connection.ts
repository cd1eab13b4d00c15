/**
 * One accepted socket: framing, strictly serial request processing, ordered
 * responses, and both directions of back-pressure.
 *
 * Life cycle:
 *   open       reading, processing frames one at a time.
 *   finishing  no more reading; the request in progress (and, when the peer
 *              half-closed, the requests it already sent) is answered; then
 *   ending     our side is ended (FIN after every written byte is flushed);
 *              when the server is stopping we keep reading and discarding
 *              until the peer closes too, so that unread input does not turn
 *              our close into a RST that could destroy the last response;
 *   closed     the socket is destroyed; any late handler result is dropped.
 *
 * Memory bound per connection (reading is paused, not the data dropped):
 *   queued requests  <= maxInFlightBytes + one socket read (~64 KiB), or
 *                       one frame of up to maxRequestBytes;
 *   partial request  <= maxRequestBytes (only bytes actually received);
 *   pending writes   <= writeHighWaterMark + one response: no further request
 *                       is handed to the handler while more than
 *                       writeHighWaterMark bytes wait to be written, and
 *                       reading is paused until the socket drains.
 */
import type { Socket } from 'node:net';
import { FrameDecoder, framePrefix } from './frame-decoder.js';
import type { Connection, FrameHandler, Logger, LogFields } from './types.js';

/** Per-connection limits, already validated by the server. */
export interface ConnectionLimits {
  readonly maxRequestBytes: number;
  readonly maxInFlightBytes: number;
  readonly maxQueuedRequests: number;
  readonly writeHighWaterMark: number;
  /** 0 = never close idle connections. */
  readonly idleMs: number;
}

type State = 'open' | 'finishing' | 'ending' | 'closed';

/** How long a failed connection may take to flush its earlier responses. */
const CLOSE_FLUSH_GRACE_MS = 1000;

function isThenable(v: unknown): v is PromiseLike<Buffer[] | null> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

function errorFields(err: unknown, withStack = false): LogFields {
  if (!(err instanceof Error)) return { error: String(err) };
  const code = (err as NodeJS.ErrnoException).code;
  return {
    error: err.message,
    ...(code === undefined ? {} : { code }),
    ...(withStack ? { stack: err.stack } : {}),
  };
}

let nextSeq = 0;

export class ServerConnection implements Connection {
  readonly id: string;
  readonly listenerName: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;

  private state: State = 'open';
  /** Set by `shutdown()`: drop queued requests, answer only the one in progress. */
  private stopping = false;
  private peerEnded = false;
  private readonly decoder: FrameDecoder;
  /** Received frames not yet handed to the handler: queue[head..]. */
  private queue: Buffer[] = [];
  private head = 0;
  private queuedBytes = 0;
  private processing = false;
  private pumping = false;
  private flushScheduled = false;
  private writeBlocked = false;
  private readingPaused = false;
  private readonly logFields: LogFields;

  constructor(
    private readonly socket: Socket,
    listenerName: string,
    private readonly handler: FrameHandler,
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
    private readonly onClosed: (conn: ServerConnection) => void,
  ) {
    this.listenerName = listenerName;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = socket.localAddress ?? '';
    this.localPort = socket.localPort ?? 0;
    this.id = `${this.localAddress}:${this.localPort}-${this.remoteAddress}:${this.remotePort}-${nextSeq++}`;
    this.logFields = { connection: this.id, listener: listenerName };
    this.decoder = new FrameDecoder({ maxFrameBytes: limits.maxRequestBytes });

    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    if (limits.idleMs > 0) socket.setTimeout(limits.idleMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onPeerEnd());
    socket.on('drain', () => this.onDrain());
    socket.on('timeout', () => this.onTimeout());
    socket.on('error', (err) => this.logger.debug('connection error', { ...this.logFields, ...errorFields(err) }));
    socket.on('close', () => this.onSocketClose());
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  close(reason = 'closed by broker'): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.dropQueue();
    this.logger.debug('closing connection', { ...this.logFields, reason });
    this.socket.destroy();
  }

  /**
   * Graceful close for server shutdown: stop reading, drop queued requests,
   * answer the one in progress, flush, then end.
   */
  shutdown(): void {
    if (this.state !== 'open' && this.state !== 'finishing') return;
    this.stopping = true;
    this.state = 'finishing';
    this.dropQueue();
    this.setReading(false);
    this.afterProgress();
  }

  private onData(chunk: Buffer): void {
    if (this.state !== 'open') return; // finishing/ending: input is discarded
    const before = this.queue.length;
    try {
      this.decoder.push(chunk, this.queue);
    } catch (err) {
      this.logger.warn('closing connection: invalid request frame', {
        ...this.logFields,
        remote: `${this.remoteAddress}:${this.remotePort}`,
        ...errorFields(err),
      });
      this.close('invalid request frame');
      return;
    }
    for (let i = before; i < this.queue.length; i++) this.queuedBytes += this.queue[i]!.length;
    this.pump();
  }

  private canStartNext(): boolean {
    return (
      !this.processing &&
      !this.writeBlocked &&
      this.head < this.queue.length &&
      (this.state === 'open' || (this.state === 'finishing' && !this.stopping))
    );
  }

  /** Hands queued frames to the handler, one at a time. Never throws. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    // Responses of handlers that complete synchronously in this loop leave
    // in one vectored write.
    this.socket.cork();
    try {
      while (this.canStartNext()) {
        const frame = this.queue[this.head]!;
        this.queue[this.head++] = undefined as unknown as Buffer; // release the reference
        this.queuedBytes -= frame.length;
        if (this.head === this.queue.length) {
          this.queue = [];
          this.head = 0;
        }
        this.processing = true;
        let result: ReturnType<FrameHandler>;
        try {
          result = this.handler(frame, this);
        } catch (err) {
          this.handlerFailed(err);
          return;
        }
        if (isThenable(result)) {
          try {
            result.then(
              (r) => this.onAsyncResult(r),
              (err: unknown) => this.handlerFailed(err),
            );
          } catch (err) {
            this.handlerFailed(err); // a thenable whose then() throws
            return;
          }
          break;
        }
        this.processing = false;
        if (!this.respond(result)) return;
      }
    } finally {
      this.pumping = false;
      this.socket.uncork();
    }
    this.afterProgress();
  }

  private onAsyncResult(result: Buffer[] | null): void {
    this.processing = false;
    if (this.state === 'closed') return;
    this.corkUntilNextTick();
    if (this.respond(result)) this.pump();
  }

  /**
   * Holds writes until the current microtask chain is done, so responses of
   * pipelined requests whose handlers resolve at once leave in one vectored
   * write. Adds no latency: next-tick runs before any I/O.
   */
  private corkUntilNextTick(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.socket.cork();
    process.nextTick(() => {
      this.flushScheduled = false;
      this.socket.uncork();
    });
  }

  private handlerFailed(err: unknown): void {
    this.processing = false;
    if (this.state === 'closed') return;
    this.logger.error('request handler failed; closing connection', { ...this.logFields, ...errorFields(err, true) });
    this.closeAfterFlush('request handler failed');
  }

  /**
   * Closes after the responses already written (to earlier pipelined
   * requests) have left: Kafka answers those before closing. Input is
   * discarded meanwhile; a peer that never reads is cut off after a grace.
   */
  private closeAfterFlush(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.dropQueue();
    this.logger.debug('closing connection after flushing', { ...this.logFields, reason });
    const s = this.socket;
    while (s.writableCorked > 0) s.uncork();
    const force = setTimeout(() => s.destroy(), CLOSE_FLUSH_GRACE_MS);
    force.unref();
    s.once('close', () => clearTimeout(force));
    s.once('finish', () => s.destroy());
    s.resume();
    s.end();
  }

  /** Writes one response; false if the connection was closed instead. */
  private respond(chunks: Buffer[] | null | undefined): boolean {
    if (this.state === 'closed') return false;
    if (chunks == null) return true;
    let total = 0;
    if (Array.isArray(chunks)) {
      for (const c of chunks) {
        if (!(c instanceof Uint8Array)) {
          total = -1;
          break;
        }
        total += c.length;
      }
    } else {
      total = -1;
    }
    if (total <= 0 || total > 0x7fffffff) {
      this.handlerFailed(
        new TypeError(
          total < 0
            ? 'frame handler must return an array of Buffers or null'
            : total === 0
              ? 'frame handler returned an empty response (return null for no response)'
              : `response of ${total} bytes exceeds the int32 frame size`,
        ),
      );
      return false;
    }
    const s = this.socket;
    if (s.destroyed) return true; // 'close' is on its way
    s.cork();
    s.write(framePrefix(total));
    for (const c of chunks) if (c.length > 0) s.write(c);
    s.uncork();
    if (s.writableLength > this.limits.writeHighWaterMark) this.writeBlocked = true;
    return true;
  }

  private onDrain(): void {
    if (!this.writeBlocked) return;
    this.writeBlocked = false;
    this.pump();
  }

  /** After a frame was handled (or could not be): end, or adjust reading. */
  private afterProgress(): void {
    if (this.state === 'finishing') {
      if (!this.processing && (this.stopping || this.head >= this.queue.length)) this.end();
      return;
    }
    if (this.state !== 'open') return;
    this.setReading(
      !this.writeBlocked &&
        this.queuedBytes <= this.limits.maxInFlightBytes &&
        this.queue.length - this.head < this.limits.maxQueuedRequests,
    );
  }

  private setReading(on: boolean): void {
    if (on === !this.readingPaused) return;
    this.readingPaused = !on;
    if (on) this.socket.resume();
    else this.socket.pause();
  }

  private end(): void {
    this.state = 'ending';
    const s = this.socket;
    s.once('finish', () => {
      if (this.state !== 'ending') return;
      if (this.peerEnded) {
        this.close('connection ended');
      } else {
        // Linger: read and discard until the peer closes (or the server's
        // grace period / the idle timer destroys the socket).
        this.setReading(true);
      }
    });
    s.end();
  }

  private onPeerEnd(): void {
    this.peerEnded = true;
    if (this.state === 'ending') {
      if (this.socket.writableFinished) this.close('connection ended');
      return;
    }
    if (this.state !== 'open') return;
    if (!this.decoder.atBoundary) {
      this.logger.debug('peer closed in the middle of a request frame', this.logFields);
    }
    this.state = 'finishing';
    this.afterProgress();
  }

  private onTimeout(): void {
    if (this.state === 'ending') {
      this.close('idle while closing');
      return;
    }
    if (this.state !== 'open') return;
    if (this.processing || this.head < this.queue.length || this.socket.writableLength > 0) return;
    this.logger.debug('closing idle connection', { ...this.logFields, idleMs: this.limits.idleMs });
    this.close('idle');
  }

  private onSocketClose(): void {
    this.state = 'closed';
    this.dropQueue();
    this.onClosed(this);
  }

  private dropQueue(): void {
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
  }
}
