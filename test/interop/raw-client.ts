/**
 * A raw Kafka connection over node:net for tests that send hand-made or
 * deliberately broken frames. Valid requests are built with the generated
 * codecs (src/protocol/messages) so a test only corrupts what it means to.
 */
import net from 'node:net';
import { apiByKey, type ApiKey, type ApiRequest, type ApiResponse } from '../../src/protocol/messages/api-table.js';
import {
  decodeResponseHeader,
  encodeRequestHeader,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../src/protocol/messages/headers.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';

/** `body` prefixed with its int32 size. */
export function sizePrefixed(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** A whole request frame (size, header, body) encoded with the generated codecs. */
export function requestFrame<K extends ApiKey>(
  apiKey: K,
  apiVersion: number,
  request: ApiRequest<K>,
  correlationId: number,
  clientId = 'raw-test',
): Buffer {
  const w = new Writer(256);
  encodeRequestHeader(w, { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId }, requestHeaderVersion(apiKey, apiVersion));
  apiByKey(apiKey).encodeRequest(w, request, apiVersion);
  return sizePrefixed(w.toBuffer());
}

/** Decodes a response frame body (without its size prefix). */
export function decodeResponse<K extends ApiKey>(apiKey: K, apiVersion: number, frame: Buffer): { correlationId: number; body: ApiResponse<K> } {
  const r = new Reader(frame);
  const { correlationId } = decodeResponseHeader(r, responseHeaderVersion(apiKey, apiVersion));
  const body = apiByKey(apiKey).decodeResponse(r, apiVersion);
  return { correlationId, body };
}

/** One TCP connection collecting whole response frames. */
export class RawConnection {
  readonly frames: Buffer[] = [];
  isClosed = false;
  readonly closed: Promise<void>;
  private pending: Buffer = Buffer.alloc(0);
  private wakers = new Set<() => void>();
  private nextCorrelationId = 1;

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 4) {
        const size = this.pending.readInt32BE(0);
        if (this.pending.length < 4 + size) break;
        this.frames.push(this.pending.subarray(4, 4 + size));
        this.pending = this.pending.subarray(4 + size);
      }
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosed = true;
        this.wake();
        resolve();
      });
    });
  }

  static connect(port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', reject);
        resolve(new RawConnection(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }

  private waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    if (cond()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (cond()) finish(true);
      };
      const timer = setTimeout(() => finish(cond()), timeoutMs);
      const finish = (v: boolean) => {
        clearTimeout(timer);
        this.wakers.delete(check);
        resolve(v);
      };
      this.wakers.add(check);
    });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next whole frame, or null if the connection closed (or nothing came) first. */
  async nextFrame(timeoutMs = 5000): Promise<Buffer | null> {
    await this.waitUntil(() => this.frames.length > 0 || this.isClosed, timeoutMs);
    return this.frames.shift() ?? null;
  }

  /** True once the broker closed the connection, false if it is still open after `timeoutMs`. */
  waitClosed(timeoutMs = 5000): Promise<boolean> {
    return this.waitUntil(() => this.isClosed, timeoutMs);
  }

  /** Sends a request built with the codecs and decodes its response. */
  async request<K extends ApiKey>(apiKey: K, apiVersion: number, request: ApiRequest<K>, timeoutMs = 5000): Promise<ApiResponse<K>> {
    const correlationId = this.nextCorrelationId++;
    this.write(requestFrame(apiKey, apiVersion, request, correlationId));
    const frame = await this.nextFrame(timeoutMs);
    if (frame === null) throw new Error(`no response to API ${apiKey} v${apiVersion} (connection ${this.isClosed ? 'closed' : 'silent'})`);
    const { correlationId: got, body } = decodeResponse(apiKey, apiVersion, frame);
    if (got !== correlationId) throw new Error(`correlation id ${got}, expected ${correlationId}`);
    return body;
  }

  close(): void {
    this.socket.destroy();
  }
}
