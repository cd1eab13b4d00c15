/**
 * A ZooKeeper session as promises, over node-zookeeper-client.
 *
 * Kafka's ZooKeeperClient semantics: connecting waits at most
 * `connectionTimeoutMs` (ZkConnectionError names the servers and the
 * timeout); a chroot that does not exist yet is created first through a
 * session without it; when the session expires a new one is made (retrying
 * until ZooKeeper answers) and every `onNewSession` listener runs, because
 * ephemeral nodes and watches die with a session and only their owners can
 * re-create them. While merely disconnected the library keeps the session,
 * queues requests and re-sets watches itself.
 */
import type { Socket } from 'node:net';
import zookeeper from 'node-zookeeper-client';
import type { Client, Stat, Transaction } from 'node-zookeeper-client';
import type { ZooKeeperConnect } from '../config/listeners.js';
import type { Logger } from '../logging.js';
import { ZkConnectionError, type ZkWatcher } from './types.js';

const { createClient, CreateMode, Exception, State } = zookeeper;

/**
 * node-zookeeper-client 1.1.3 knows only the error codes of ZooKeeper 3.4: a
 * newer one in a reply (3.5+: REQUEST_TIMEOUT, QUOTA_EXCEEDED, THROTTLED_OP,
 * ...) made it throw from its socket handler, an uncaught exception that
 * would take the whole broker down. Such codes are reported as SYSTEM_ERROR.
 */
const exceptionModule = Exception as unknown as { create(code: number, path?: string): Error };
const createException = exceptionModule.create;
exceptionModule.create = (code, path) => {
  try {
    return createException(code, path);
  } catch {
    return createException(Exception.SYSTEM_ERROR, path);
  }
};

export type ZkCreateMode = 'persistent' | 'ephemeral' | 'persistent_sequential' | 'ephemeral_sequential';

export type ZkSessionState = 'connected' | 'disconnected' | 'expired' | 'closed';

/** The parts of a znode's stat that callers use. */
export interface ZkStat {
  version: number;
  /** Children version (bumped by child creation / deletion). */
  cversion: number;
  /** The owning session id (hex, as `sessionId`) of an ephemeral node; null for persistent nodes. */
  ephemeralOwner: string | null;
  numChildren: number;
  dataLength: number;
}

/** ZooKeeper's error names (KeeperException codes) that callers act on. */
export type ZkErrorCode =
  | 'NODE_EXISTS'
  | 'NO_NODE'
  | 'BAD_VERSION'
  | 'NOT_EMPTY'
  | 'NO_CHILDREN_FOR_EPHEMERALS'
  | 'CONNECTION_LOSS'
  | 'SESSION_EXPIRED'
  | 'OTHER';

/** A failed ZooKeeper request; `code` tells which KeeperException it was. */
export class ZkError extends Error {
  constructor(
    readonly code: ZkErrorCode,
    /** The node the failing request (or the failing op of a multi) named. */
    readonly path: string,
    message: string,
  ) {
    super(`ZooKeeper ${code} on ${path}: ${message}`);
    this.name = 'ZkError';
  }
}

export function isZkError(error: unknown, code: ZkErrorCode): error is ZkError {
  return error instanceof ZkError && error.code === code;
}

/** One operation of a `multi` (all commit or none). Versions of -1 match any. */
export type ZkOp =
  | { op: 'create'; path: string; data?: Buffer; mode?: ZkCreateMode }
  | { op: 'setData'; path: string; data: Buffer; version: number }
  | { op: 'check'; path: string; version: number }
  | { op: 'remove'; path: string; version?: number };

/** Per op of a committed multi: the created path (create) or the new stat (setData). */
export interface ZkOpResult {
  path?: string;
  stat?: ZkStat;
}

export interface ZkSessionOptions {
  connect: ZooKeeperConnect;
  sessionTimeoutMs: number;
  connectionTimeoutMs: number;
  logger: Logger;
}

type NewSessionListener = () => void | Promise<void>;
type StateListener = (state: ZkSessionState) => void;

const MODES: Record<ZkCreateMode, number> = {
  persistent: CreateMode.PERSISTENT,
  ephemeral: CreateMode.EPHEMERAL,
  persistent_sequential: CreateMode.PERSISTENT_SEQUENTIAL,
  ephemeral_sequential: CreateMode.EPHEMERAL_SEQUENTIAL,
};

const CODES = new Map<number, ZkErrorCode>([
  [Exception.NODE_EXISTS, 'NODE_EXISTS'],
  [Exception.NO_NODE, 'NO_NODE'],
  [Exception.BAD_VERSION, 'BAD_VERSION'],
  [Exception.NOT_EMPTY, 'NOT_EMPTY'],
  [Exception.NO_CHILDREN_FOR_EPHEMERALS, 'NO_CHILDREN_FOR_EPHEMERALS'],
  [Exception.CONNECTION_LOSS, 'CONNECTION_LOSS'],
  [Exception.SESSION_EXPIRED, 'SESSION_EXPIRED'],
]);

const OK = 0;
/** Set on the ops of a failed multi that did not themselves fail. */
const RUNTIME_INCONSISTENCY = Exception.RUNTIME_INCONSISTENCY;
/** A client's session id before it has one (all zeros); also a persistent node's ephemeralOwner. */
const NO_SESSION = '0000000000000000';
/** Pause between attempts to open a replacement session while ZooKeeper does not answer. */
const RECONNECT_PAUSE_MS = 1000;

export class ZkSession {
  private client: Client;
  private state: ZkSessionState = 'connected';
  private closed = false;
  private readonly stateListeners = new Set<StateListener>();
  private readonly newSessionListeners = new Set<NewSessionListener>();
  /** Resolved the next time the session is (again) connected; recreated on each disconnect. */
  private connectedWaiters: (() => void)[] = [];

  private constructor(
    client: Client,
    private readonly options: ZkSessionOptions,
    private readonly logger: Logger,
  ) {
    this.client = client;
    this.watchClient(client);
  }

  /** Connects (creating the chroot when missing); rejects with ZkConnectionError after `connectionTimeoutMs`. */
  static async connect(options: ZkSessionOptions): Promise<ZkSession> {
    const logger = options.logger.child({ component: 'zookeeper' });
    const { connect } = options;
    if (connect.chroot !== '') {
      const root = await openClient(connect.connectString, options);
      try {
        await callback<string>((cb) => root.mkdirp(connect.chroot, cb), connect.chroot);
        logger.debug('ZooKeeper chroot present', { chroot: connect.chroot });
      } catch (error) {
        if (!isZkError(error, 'NODE_EXISTS')) throw error;
      } finally {
        root.close();
      }
    }
    const client = await openClient(connect.connectString + connect.chroot, options);
    const session = new ZkSession(client, options, logger);
    logger.info('ZooKeeper session established', { servers: connect.connectString, chroot: connect.chroot, sessionId: session.sessionId });
    return session;
  }

  /** The current session's id in hex (changes after an expiry). */
  get sessionId(): string {
    return this.client.getSessionId().toString('hex');
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /**
   * The id and password of the current session: another connection presenting
   * them and closing ends this session (how tests and tools force an expiry).
   */
  sessionCredentials(): { sessionId: Buffer; password: Buffer } {
    return { sessionId: this.client.getSessionId(), password: this.client.getSessionPassword() };
  }

  /** Returns an unsubscribe function. */
  onStateChange(listener: StateListener): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /**
   * Called after an expired session was replaced: re-create ephemeral nodes
   * and re-set watches here. Returns an unsubscribe function.
   */
  onNewSession(listener: NewSessionListener): () => void {
    this.newSessionListeners.add(listener);
    return () => this.newSessionListeners.delete(listener);
  }

  /** Returns the created path (with the sequence suffix for sequential modes). */
  create(path: string, data: Buffer = Buffer.alloc(0), mode: ZkCreateMode = 'persistent'): Promise<string> {
    return callback<string>((cb) => this.client.create(path, data, MODES[mode], cb), path);
  }

  /** The node's stat, or null when absent; the watcher fires on its creation, deletion or data change. */
  async exists(path: string, watcher?: ZkWatcher): Promise<ZkStat | null> {
    const stat = await this.read<Stat | undefined>(path, (cb) =>
      watcher ? this.client.exists(path, () => watcher(), cb) : this.client.exists(path, cb),
    );
    return stat ? toStat(stat) : null;
  }

  /** ZkError NO_NODE when absent; the watcher fires on data change or deletion. */
  async getData(path: string, watcher?: ZkWatcher): Promise<{ data: Buffer; stat: ZkStat }> {
    const [data, stat] = await this.read<[Buffer | null, Stat]>(path, (cb) => {
      const done = (error: unknown, data: Buffer | null, stat: Stat) => cb(error, [data, stat]);
      if (watcher) this.client.getData(path, () => watcher(), done);
      else this.client.getData(path, done);
    });
    return { data: data ?? Buffer.alloc(0), stat: toStat(stat) };
  }

  /** Conditional on `version` (-1: any); ZkError BAD_VERSION when it moved on. */
  async setData(path: string, data: Buffer, version = -1): Promise<ZkStat> {
    return toStat(await callback<Stat>((cb) => this.client.setData(path, data, version, cb), path));
  }

  /** ZkError NO_NODE when absent; the watcher fires when children are added or removed (or the node goes). */
  getChildren(path: string, watcher?: ZkWatcher): Promise<string[]> {
    return this.read<string[]>(path, (cb) =>
      watcher ? this.client.getChildren(path, () => watcher(), cb) : this.client.getChildren(path, cb),
    );
  }

  remove(path: string, version = -1): Promise<void> {
    return callback<void>((cb) => this.client.remove(path, version, cb), path);
  }

  /** Removes a node and everything below it; absent nodes are fine. */
  async removeRecursive(path: string): Promise<void> {
    let children: string[];
    try {
      children = await this.getChildren(path);
    } catch (error) {
      if (isZkError(error, 'NO_NODE')) return;
      throw error;
    }
    for (const child of children) await this.removeRecursive(`${path === '/' ? '' : path}/${child}`);
    try {
      await this.remove(path);
    } catch (error) {
      if (!isZkError(error, 'NO_NODE')) throw error;
    }
  }

  /** Creates the node and its missing parents (empty, persistent); existing nodes are fine. */
  async mkdirp(path: string): Promise<void> {
    try {
      await callback<string>((cb) => this.client.mkdirp(path, cb), path);
    } catch (error) {
      if (!isZkError(error, 'NODE_EXISTS')) throw error;
    }
  }

  /** Commits all ops or none; a failure is the ZkError of the op that failed. */
  multi(ops: readonly ZkOp[]): Promise<ZkOpResult[]> {
    const tx = this.client.transaction();
    for (const op of ops) addOp(tx, op);
    return new Promise((resolve, reject) => {
      tx.commit((error, results: RawOpResult[] | undefined) => {
        if (!error) {
          resolve((results ?? []).map((r) => ({ path: r.path, stat: r.stat ? toStat(r.stat) : undefined })));
          return;
        }
        // The library reports the failure without the op; the per-op results name it.
        const failed = results?.findIndex((r) => r.err !== undefined && r.err !== OK && r.err !== RUNTIME_INCONSISTENCY) ?? -1;
        const path = failed >= 0 ? ops[failed]!.path : ops.map((o) => o.path).join(', ');
        reject(toZkError(error, path));
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.setState('closed');
    const client = this.client;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.options.connectionTimeoutMs);
      client.once('disconnected', () => {
        clearTimeout(timer);
        resolve();
      });
      client.close();
    });
    for (const waiter of this.connectedWaiters.splice(0)) waiter();
  }

  // ---- internals

  /**
   * Reads are retried when the connection or session is lost under them:
   * repeating one is harmless, and Kafka's client does the same. Writes are
   * not (the caller knows whether repeating one is safe).
   */
  private async read<T>(path: string, issue: (cb: (error: unknown, result: T) => void) => void): Promise<T> {
    for (;;) {
      try {
        return await callback<T>(issue, path);
      } catch (error) {
        const lost = isZkError(error, 'CONNECTION_LOSS') || isZkError(error, 'SESSION_EXPIRED');
        if (!lost || this.closed) throw error;
        await this.untilConnected();
        if (this.closed) throw error;
      }
    }
  }

  private untilConnected(): Promise<void> {
    if (this.state === 'connected' || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.connectedWaiters.push(resolve));
  }

  private watchClient(client: Client): void {
    client.on('state', (state) => {
      if (client !== this.client || this.closed) return;
      if (state === State.SYNC_CONNECTED) this.setState('connected');
      else if (state === State.DISCONNECTED) {
        this.setState('disconnected');
        this.watchForStalledAttempts(client);
      } else if (state === State.EXPIRED) {
        this.setState('expired');
        void this.replaceSession();
      }
    });
  }

  /**
   * node-zookeeper-client stops timing a connection attempt once TCP is up,
   * so a server that accepts and never answers (ZooKeeper 3.8 does that to
   * connections arriving while it starts) would keep the session
   * disconnected forever. Like the Java client's read timeout, drop an
   * attempt silent for 2/3 of the session timeout; the library then retries.
   */
  private watchForStalledAttempts(client: Client): void {
    const manager = (client as unknown as { connectionManager: { socket?: Socket } }).connectionManager;
    const stallMs = Math.max(500, Math.floor((this.options.sessionTimeoutMs * 2) / 3));
    let socket = manager.socket;
    let since = Date.now();
    const timer = setInterval(() => {
      if (client !== this.client || this.closed || this.state === 'connected') {
        clearInterval(timer);
        return;
      }
      if (manager.socket !== socket) {
        socket = manager.socket;
        since = Date.now();
      } else if (Date.now() - since >= stallMs && socket && !socket.destroyed) {
        this.logger.debug('ZooKeeper connection attempt got no answer; retrying', { stallMs });
        socket.destroy();
        since = Date.now();
      }
    }, Math.ceil(stallMs / 4));
    timer.unref();
  }

  private setState(state: ZkSessionState): void {
    if (this.state === state) return;
    this.state = state;
    if (state === 'connected') for (const waiter of this.connectedWaiters.splice(0)) waiter();
    for (const listener of [...this.stateListeners]) {
      try {
        listener(state);
      } catch (error) {
        this.logger.error('ZooKeeper state listener failed', { state, error: String(error) });
      }
    }
  }

  private async replaceSession(): Promise<void> {
    const expired = this.client;
    this.logger.warn('ZooKeeper session expired; opening a new session', { sessionId: this.sessionId });
    expired.close();
    const target = this.options.connect.connectString + this.options.connect.chroot;
    while (!this.closed) {
      try {
        const client = await openClient(target, this.options);
        if (this.closed) {
          client.close();
          return;
        }
        this.client = client;
        this.watchClient(client);
        break;
      } catch (error) {
        this.logger.warn('ZooKeeper not reachable for a new session; retrying', { error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_PAUSE_MS));
      }
    }
    if (this.closed) return;
    this.logger.info('ZooKeeper session re-established', { sessionId: this.sessionId });
    this.setState('connected');
    for (const listener of [...this.newSessionListeners]) {
      try {
        await listener();
      } catch (error) {
        this.logger.error('ZooKeeper new-session listener failed', { error: String(error) });
      }
    }
  }
}

interface RawOpResult {
  type: number;
  path?: string;
  stat?: Stat;
  err?: number;
}

/** The library drops a version of 0 (`version || -1`), which would make `check(path, 0)` unconditional: set it on the op itself. */
function addOp(tx: Transaction, op: ZkOp): void {
  switch (op.op) {
    case 'create':
      tx.create(op.path, op.data ?? Buffer.alloc(0), MODES[op.mode ?? 'persistent']);
      return;
    case 'setData':
      tx.setData(op.path, op.data, op.version);
      break;
    case 'check':
      tx.check(op.path, op.version);
      break;
    case 'remove':
      tx.remove(op.path, op.version ?? -1);
      break;
  }
  const ops = (tx as unknown as { ops: { version: number }[] }).ops;
  ops[ops.length - 1]!.version = op.op === 'remove' ? (op.version ?? -1) : op.version;
}

/** Opens a client and waits for its session, at most `connectionTimeoutMs`. */
function openClient(connectString: string, options: ZkSessionOptions): Promise<Client> {
  const client = createClient(connectString, { sessionTimeout: options.sessionTimeoutMs, spinDelay: 200, retries: 0 });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.removeListener('connected', onConnected);
      client.close();
      reject(
        new ZkConnectionError(
          `Timed out after ${options.connectionTimeoutMs} ms waiting for a ZooKeeper connection to ${options.connect.connectString} (zookeeper.connection.timeout.ms)`,
        ),
      );
    }, options.connectionTimeoutMs);
    const onConnected = () => {
      clearTimeout(timer);
      resolve(client);
    };
    client.once('connected', onConnected);
    client.connect();
  });
}

function callback<T>(issue: (cb: (error: unknown, result: T) => void) => void, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    issue((error, result) => (error ? reject(toZkError(error, path)) : resolve(result)));
  });
}

function toZkError(error: unknown, path: string): Error {
  if (error instanceof Exception) {
    return new ZkError(CODES.get(error.getCode()) ?? 'OTHER', path, error.getName());
  }
  return error instanceof Error ? error : new Error(String(error));
}

function toStat(stat: Stat): ZkStat {
  const owner = stat.ephemeralOwner.toString('hex');
  return {
    version: stat.version,
    cversion: stat.cversion,
    ephemeralOwner: owner === NO_SESSION ? null : owner,
    numChildren: stat.numChildren,
    dataLength: stat.dataLength,
  };
}
