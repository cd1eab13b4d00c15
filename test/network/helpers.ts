/** Shared helpers for the network tests: a raw framed client and server setup. */
import net from 'node:net';
import { once } from 'node:events';
import { FrameDecoder } from '../../src/network/frame-decoder.js';
import { SocketServer, type SocketServerOptions } from '../../src/network/socket-server.js';
import type { LogFields, Logger } from '../../src/network/types.js';

export const HOST = '127.0.0.1';

/** `body` prefixed with its int32 size. */
export function frame(body: Buffer | string): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const out = Buffer.allocUnsafe(4 + b.length);
  out.writeInt32BE(b.length, 0);
  b.copy(out, 4);
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` until true or `timeoutMs` passes (then throws). */
export async function waitFor(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A logger that records every line. */
export class MemoryLogger implements Logger {
  readonly lines: { level: string; msg: string; fields?: LogFields }[] = [];
  debug(msg: string, fields?: LogFields): void {
    this.lines.push({ level: 'debug', msg, fields });
  }
  info(msg: string, fields?: LogFields): void {
    this.lines.push({ level: 'info', msg, fields });
  }
  warn(msg: string, fields?: LogFields): void {
    this.lines.push({ level: 'warn', msg, fields });
  }
  error(msg: string, fields?: LogFields): void {
    this.lines.push({ level: 'error', msg, fields });
  }
  at(level: string): string[] {
    return this.lines.filter((l) => l.level === level).map((l) => l.msg);
  }
  /** Children share the parent's lines. */
  child(): Logger {
    return this;
  }
}

/** A raw client speaking size-prefixed frames. */
export class FrameClient {
  readonly frames: Buffer[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  private readonly decoder = new FrameDecoder({ maxFrameBytes: 0x7fffffff });
  private waiter: (() => void) | null = null;

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk, this.frames);
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.wake();
        resolve();
      }),
    );
  }

  static async connect(port: number, host = HOST): Promise<FrameClient> {
    const socket = net.connect({ port, host });
    await once(socket, 'connect');
    return new FrameClient(socket);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  send(body: Buffer | string): void {
    this.socket.write(frame(body));
  }

  /** Waits until `n` frames in total were received. */
  async waitFrames(n: number, timeoutMs = 5000): Promise<Buffer[]> {
    const end = Date.now() + timeoutMs;
    while (this.frames.length < n) {
      if (this.isClosed) throw new Error(`connection closed after ${this.frames.length}/${n} frames`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out after ${this.frames.length}/${n} frames`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.frames.slice(0, n);
  }

  /** Sends a request and waits for the next response. */
  async request(body: Buffer | string, timeoutMs = 5000): Promise<Buffer> {
    const n = this.frames.length + 1;
    this.send(body);
    const got = await this.waitFrames(n, timeoutMs);
    return got[n - 1]!;
  }

  /** Resolves true if the server closed the connection within `timeoutMs`. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), sleep(timeoutMs).then(() => false)]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Starts a one-listener server on a free port of 127.0.0.1. */
export async function startServer(
  opts: Partial<SocketServerOptions> & Pick<SocketServerOptions, 'handler'>,
): Promise<{ server: SocketServer; port: number }> {
  const server = new SocketServer({
    listeners: [{ name: 'PLAINTEXT', host: HOST, port: 0 }],
    maxRequestBytes: 1024 * 1024,
    ...opts,
  });
  const [bound] = await server.start();
  return { server, port: bound!.port };
}

/** Echo handler: responds with the request body. */
export const echo = (f: Buffer): Buffer[] => [f];
