/**
 * Test doubles for the group coordinator: a scheduler with a hand-moved
 * clock and an in-memory __consumer_offsets log that behaves like a real one
 * (offsets assigned per batch, reads of whole batches from an offset).
 */
import { GroupCoordinator, type CoordinatorHost, type GroupCoordinatorConfig, type OffsetsLog, type Scheduler, type TimerHandle } from '../../src/coordinator/index.js';
import { KafkaError } from '../../src/protocol/errors.js';
import { RecordBatch } from '../../src/protocol/records/index.js';
import { encodeConsumerProtocolSubscription } from '../../src/protocol/messages/consumer-protocol-subscription.js';
import { Writer } from '../../src/protocol/primitives.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class FakeScheduler implements Scheduler {
  time = 1_000_000;
  private seq = 0;
  private timers: Timer[] = [];

  now(): number {
    return this.time;
  }

  schedule(delayMs: number, fn: () => void): TimerHandle {
    const timer: Timer = { at: this.time + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  /** Moves the clock, firing due timers in order (including ones they schedule), settling promises in between. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await settle();
      const due = this.timers
        .filter((t) => !t.cancelled && t.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = Math.max(this.time, due.at);
      due.fn();
    }
    this.time = end;
    await settle();
  }

  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
}

/** Lets queued promise callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class MemoryLog implements OffsetsLog {
  readonly batches: Buffer[] = [];
  private end = 0;
  isOpen = true;
  /** Makes the next appends fail with this error. */
  failWith: KafkaError | null = null;
  /** Holds reads until released (to observe COORDINATOR_LOAD_IN_PROGRESS). */
  readGate: Promise<void> | null = null;
  /** Holds appends until released (to observe commits in flight). */
  appendGate: Promise<void> | null = null;

  constructor(readonly partition: number) {}

  get logStartOffset(): number {
    return 0;
  }

  get highWatermark(): number {
    return this.end;
  }

  async append(batch: Buffer): Promise<void> {
    if (this.appendGate) await this.appendGate;
    if (this.failWith) throw this.failWith;
    const copy = Buffer.from(batch);
    const view = new RecordBatch(copy);
    view.setBaseOffset(this.end);
    this.end += view.lastOffsetDelta + 1;
    this.batches.push(copy);
  }

  async read(offset: number, maxBytes: number): Promise<{ records: Buffer; highWatermark: number }> {
    if (this.readGate) await this.readGate;
    const out: Buffer[] = [];
    let size = 0;
    for (const b of this.batches) {
      const view = new RecordBatch(b);
      if (view.lastOffset < offset) continue;
      if (out.length > 0 && size + b.length > maxBytes) break;
      out.push(b);
      size += b.length;
    }
    return { records: Buffer.concat(out), highWatermark: this.end };
  }

  /** Every record as [key, value] in log order. */
  records(): { key: Buffer | null; value: Buffer | null }[] {
    return this.batches.flatMap((b) => [...new RecordBatch(b).records()].map((r) => ({ key: r.key, value: r.value })));
  }
}

export class MemoryHost implements CoordinatorHost {
  readonly logs = new Map<number, MemoryLog>();
  topics = new Map<string, number>([['orders', 6], ['payments', 3]]);
  created = false;

  constructor(readonly partitions: number, existing = true) {
    if (existing) this.create();
  }

  private create(): void {
    this.created = true;
    for (let p = 0; p < this.partitions; p++) if (!this.logs.has(p)) this.logs.set(p, new MemoryLog(p));
  }

  offsetsTopicPartitionCount(): number | null {
    return this.created ? this.partitions : null;
  }

  async ensureOffsetsTopic(): Promise<void> {
    this.create();
  }

  offsetsLog(partition: number): OffsetsLog | null {
    return this.created ? (this.logs.get(partition) ?? null) : null;
  }

  topicPartitionCount(topic: string): number | null {
    return this.topics.get(topic) ?? null;
  }
}

export const TEST_CONFIG: GroupCoordinatorConfig = {
  offsetsTopicNumPartitions: 3,
  initialRebalanceDelayMs: 3000,
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 300000,
  maxGroupSize: 100,
  offsetsRetentionMs: 7 * 24 * 3600 * 1000,
  offsetsRetentionCheckIntervalMs: 600000,
  maxMetadataSize: 4096,
  loadBufferSize: 5 * 1024 * 1024,
  compressionCodec: 0,
};

/** A coordinator over an in-memory host, its partitions loaded. */
export async function makeCoordinator(options: { host?: MemoryHost; scheduler?: FakeScheduler; config?: Partial<GroupCoordinatorConfig> } = {}) {
  const host = options.host ?? new MemoryHost(3);
  const scheduler = options.scheduler ?? new FakeScheduler();
  const coordinator = new GroupCoordinator({ host, scheduler, config: { ...TEST_CONFIG, ...options.config } });
  coordinator.startup();
  await Promise.all([...host.logs.keys()].map((p) => coordinator.onBecomeLeader(p)));
  return { host, scheduler, coordinator };
}

/** A ConsumerProtocolSubscription (v1) for the given topics, as clients send it in JoinGroup. */
export function subscription(topics: string[], version = 1): Buffer {
  const w = new Writer(64);
  w.int16(version);
  encodeConsumerProtocolSubscription(w, { topics, userData: null, ownedPartitions: [] }, version);
  return w.toBuffer();
}
