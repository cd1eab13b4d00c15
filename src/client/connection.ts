/**
 * One TCP connection to one broker: Kafka framing, correlation ids, pipelined
 * requests, a timeout per request, and the ApiVersions handshake that picks,
 * per API, the highest version both sides speak.
 *
 * Requests are written as soon as they are issued (pipelining); Kafka answers
 * them in order on a connection, and responses are matched by correlation id
 * anyway. A request that gets no answer within its timeout fails with
 * RequestTimeoutError and the connection is closed, as the Java client does:
 * a broker that stopped answering one request is not trusted with the others
 * (they fail with ConnectionError, which is retriable).
 *
 * The handshake sends ApiVersions at the newest version we know; a broker
 * that does not speak it answers UNSUPPORTED_VERSION in the v0 layout with
 * its own range, and we retry at the broker's newest (down to v0).
 */
import net from 'node:net';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey, apiByKey, type ApiRequest, type ApiResponse } from '../protocol/messages/api-table.js';
import type { ApiVersionsResponse } from '../protocol/messages/api-versions.js';
import {
  decodeResponseHeader,
  encodeRequestHeader,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../protocol/messages/headers.js';
import { Reader, Writer } from '../protocol/primitives.js';
import { FrameDecoder, framePrefix } from '../network/frame-decoder.js';
import { silentLogger, type Logger } from '../logging.js';
import { ClientClosedError, ConnectionError, RequestTimeoutError, UnsupportedVersionError } from './errors.js';
import { clientVersionRange } from './versions.js';

/** Name and version sent in ApiVersions v3+ (shown by brokers' client metrics). */
export const CLIENT_SOFTWARE_NAME = 'ganglion-client';
export const CLIENT_SOFTWARE_VERSION = '0.1.0';

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  /** Default timeout per request (ms). */
  requestTimeoutMs: number;
  /** Timeout for the TCP connect plus the ApiVersions handshake (ms). */
  connectTimeoutMs: number;
  /** Largest response frame accepted. */
  maxResponseBytes: number;
  logger?: Logger;
}

export interface RequestOptions {
  /** The exact version to use; otherwise the highest both sides support within [minVersion, maxVersion]. */
  version?: number;
  minVersion?: number;
  maxVersion?: number;
  /** Overrides the connection's request timeout. */
  timeoutMs?: number;
  /** False for requests the broker does not answer (Produce with acks=0). Default true. */
  expectResponse?: boolean;
}

interface Pending {
  apiKey: number;
  apiName: string;
  version: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** A broker's supported range for one API. */
export interface VersionRange {
  min: number;
  max: number;
}

export class BrokerConnection {
  /** `host:port`. */
  readonly address: string;
  private readonly options: ConnectionOptions;
  private readonly logger: Logger;
  private socket: net.Socket | null = null;
  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 0;
  private brokerVersions = new Map<number, VersionRange>();
  private closedWith: Error | null = null;
  private readonly closeListeners: Array<(error: Error) => void> = [];

  private constructor(options: ConnectionOptions) {
    this.options = options;
    this.address = `${options.host}:${options.port}`;
    this.logger = options.logger ?? silentLogger;
    this.decoder = new FrameDecoder({ maxFrameBytes: options.maxResponseBytes });
  }

  /** Connects and negotiates API versions; rejects with ConnectionError (or KafkaError from ApiVersions). */
  static async open(options: ConnectionOptions): Promise<BrokerConnection> {
    const conn = new BrokerConnection(options);
    const deadline = Date.now() + options.connectTimeoutMs;
    await conn.connectSocket();
    try {
      await conn.handshake(deadline);
    } catch (error) {
      conn.close(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    return conn;
  }

  /** True once closed (by either side). */
  get closed(): boolean {
    return this.closedWith !== null;
  }

  /** Requests awaiting a response. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** The broker's advertised range for an API, or undefined when it does not serve it. */
  brokerRange(apiKey: number): VersionRange | undefined {
    return this.brokerVersions.get(apiKey);
  }

  /** Every API the broker advertised. */
  get brokerApiVersions(): ReadonlyMap<number, VersionRange> {
    return this.brokerVersions;
  }

  /** Whether some version of the API is usable (within the optional bounds). */
  supports(apiKey: number, min?: number, max?: number): boolean {
    return this.pickVersion(apiKey, min, max) !== null;
  }

  /**
   * The highest version of the API both sides speak, within [min, max];
   * throws UnsupportedVersionError when there is none.
   */
  version(apiKey: number, min?: number, max?: number): number {
    const v = this.pickVersion(apiKey, min, max);
    if (v !== null) return v;
    const api = apiByKey(apiKey);
    const theirs = this.brokerVersions.get(apiKey);
    const ours = clientVersionRange(apiKey);
    const lo = Math.max(ours.min, min ?? 0);
    const hi = Math.min(ours.max, max ?? ours.max);
    throw new UnsupportedVersionError(
      theirs === undefined
        ? `broker ${this.address} does not serve ${api?.name ?? `API ${apiKey}`}`
        : `broker ${this.address} serves ${api?.name ?? `API ${apiKey}`} v${theirs.min}-${theirs.max}, this operation needs v${lo}-${hi}`,
    );
  }

  private pickVersion(apiKey: number, min?: number, max?: number): number | null {
    const theirs = this.brokerVersions.get(apiKey);
    if (theirs === undefined) return null;
    const ours = clientVersionRange(apiKey);
    const hi = Math.min(ours.max, theirs.max, max ?? Number.MAX_SAFE_INTEGER);
    const lo = Math.max(ours.min, theirs.min, min ?? 0);
    return hi >= lo ? hi : null;
  }

  /** Calls `listener` once when the connection closes, with the reason. */
  onClose(listener: (error: Error) => void): void {
    if (this.closedWith !== null) {
      listener(this.closedWith);
      return;
    }
    this.closeListeners.push(listener);
  }

  /**
   * Sends a request and resolves with the decoded response. `body` may be a
   * function of the chosen version. Rejects with KafkaError subclasses:
   * ConnectionError, RequestTimeoutError, UnsupportedVersionError; a
   * ProtocolError when the request cannot be encoded at that version.
   */
  request<K extends ApiKey>(
    apiKey: K,
    body: ApiRequest<K> | ((version: number) => ApiRequest<K>),
    options: RequestOptions = {},
  ): Promise<ApiResponse<K>> {
    if (this.closedWith !== null) return Promise.reject(this.closedError());
    let version: number;
    try {
      version = options.version ?? this.version(apiKey, options.minVersion, options.maxVersion);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.send(apiKey, version, typeof body === 'function' ? (body as (v: number) => ApiRequest<K>)(version) : body, options);
  }

  private send<K extends ApiKey>(apiKey: K, version: number, body: ApiRequest<K>, options: RequestOptions): Promise<ApiResponse<K>> {
    const api = apiByKey(apiKey);
    const socket = this.socket;
    if (socket === null) return Promise.reject(this.closedError());
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff;
    const w = new Writer(512);
    try {
      w.int32(0); // frame size, patched below
      encodeRequestHeader(
        w,
        { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: this.options.clientId },
        requestHeaderVersion(apiKey, version),
      );
      api.encodeRequest(w, body, version);
    } catch (error) {
      return Promise.reject(error);
    }
    const chunks = w.toChunks();
    chunks[0]!.writeInt32BE(w.length - 4, 0);
    const expectResponse = options.expectResponse ?? true;
    if (!expectResponse) {
      this.write(socket, chunks);
      return Promise.resolve(undefined as unknown as ApiResponse<K>);
    }
    return new Promise<ApiResponse<K>>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
      const timer = setTimeout(() => {
        if (!this.pending.has(correlationId)) return;
        const error = new RequestTimeoutError(this.address, api.name, timeoutMs);
        this.pending.delete(correlationId);
        reject(error);
        this.logger.warn('request timed out; closing the connection', { broker: this.address, api: api.name });
        this.close(new ConnectionError(this.address, `closed after a ${api.name} request timed out`));
      }, timeoutMs);
      this.pending.set(correlationId, {
        apiKey,
        apiName: api.name,
        version,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer,
      });
      this.write(socket, chunks);
    });
  }

  private write(socket: net.Socket, chunks: Buffer[]): void {
    if (chunks.length === 1) {
      socket.write(chunks[0]!);
      return;
    }
    socket.cork();
    for (const c of chunks) socket.write(c);
    socket.uncork();
  }

  /**
   * Closes the connection: pending requests fail with `error` (default
   * ClientClosedError). Idempotent.
   */
  close(error?: Error): void {
    if (this.closedWith !== null) return;
    const reason = error ?? new ClientClosedError(`connection to ${this.address} was closed`);
    this.closedWith = reason;
    const socket = this.socket;
    if (socket !== null) {
      socket.removeAllListeners('data');
      socket.on('error', () => undefined);
      socket.end();
      // Give the FIN a moment, then make sure the handle goes away.
      setTimeout(() => socket.destroy(), 1000).unref();
    }
    this.failAll(reason);
    for (const listener of this.closeListeners.splice(0)) listener(reason);
  }

  private closedError(): Error {
    const reason = this.closedWith;
    if (reason instanceof ConnectionError || reason instanceof ClientClosedError) return reason;
    return new ConnectionError(this.address, 'connection is closed', { cause: reason ?? undefined });
  }

  private failAll(error: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(error instanceof ConnectionError || error instanceof ClientClosedError ? error : this.closedError());
    }
  }

  private connectSocket(): Promise<void> {
    const { host, port, connectTimeoutMs } = this.options;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true });
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        socket.destroy();
        reject(new ConnectionError(this.address, `connection setup timed out after ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      socket.once('connect', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.socket = socket;
        socket.on('data', (chunk: Buffer) => this.onData(chunk));
        socket.on('close', () => this.close(new ConnectionError(this.address, 'connection closed by the broker')));
        resolve();
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          socket.destroy();
          reject(new ConnectionError(this.address, `cannot connect: ${err.code ?? err.message}`, { cause: err }));
          return;
        }
        this.close(new ConnectionError(this.address, `connection failed: ${err.code ?? err.message}`, { cause: err }));
      });
    });
  }

  private onData(chunk: Buffer): void {
    const frames: Buffer[] = [];
    try {
      this.decoder.push(chunk, frames);
    } catch (error) {
      for (const f of frames) this.onFrame(f);
      this.close(new ConnectionError(this.address, `bad response framing: ${(error as Error).message}`, { cause: error }));
      return;
    }
    for (const f of frames) this.onFrame(f);
  }

  private onFrame(frame: Buffer): void {
    if (frame.length < 4) {
      this.close(new ConnectionError(this.address, 'response frame too short'));
      return;
    }
    const correlationId = frame.readInt32BE(0);
    const p = this.pending.get(correlationId);
    if (p === undefined) {
      // The request timed out and the response came anyway: drop it.
      this.logger.debug('response for an unknown correlation id', { broker: this.address, correlationId });
      return;
    }
    this.pending.delete(correlationId);
    clearTimeout(p.timer);
    let response: unknown;
    try {
      const r = new Reader(frame);
      decodeResponseHeader(r, responseHeaderVersion(p.apiKey, p.version));
      let version = p.version;
      if (p.apiKey === ApiKey.ApiVersions && version > 0 && r.remaining >= 2) {
        // A broker that does not speak our version answers in the v0 layout.
        if (frame.readInt16BE(r.offset) === ErrorCode.UNSUPPORTED_VERSION) version = 0;
      }
      response = apiByKey(p.apiKey)!.decodeResponse(r, version);
    } catch (error) {
      p.reject(new ConnectionError(this.address, `cannot decode ${p.apiName} v${p.version} response: ${(error as Error).message}`, { cause: error }));
      this.close(new ConnectionError(this.address, `closed after an undecodable ${p.apiName} response`));
      return;
    }
    p.resolve(response);
  }

  private async handshake(deadline: number): Promise<void> {
    let version = clientVersionRange(ApiKey.ApiVersions).max;
    for (;;) {
      const timeoutMs = Math.max(1, deadline - Date.now());
      const response: ApiVersionsResponse = await this.send(
        ApiKey.ApiVersions,
        version,
        version >= 3 ? { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION } : {},
        { timeoutMs },
      );
      if (response.errorCode === ErrorCode.UNSUPPORTED_VERSION && version > 0) {
        const theirs = response.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions);
        const next = theirs !== undefined && theirs.maxVersion < version ? theirs.maxVersion : 0;
        this.logger.debug('broker does not speak our ApiVersions version; retrying', { broker: this.address, version, next });
        version = next;
        continue;
      }
      if (response.errorCode !== ErrorCode.NONE) throw new KafkaError(response.errorCode, `ApiVersions from ${this.address}`);
      this.brokerVersions = new Map(response.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]));
      return;
    }
  }
}
