/**
 * The records of __transaction_state, in Kafka's key and value schemas, so
 * Kafka's tools (kafka-dump-log --transaction-log-decoder) and Ganglion read
 * the same bytes. One record per change of a transactional id's state; the
 * latest record of a key is its state (the topic is compacted), a null value
 * (tombstone) removes an expired transactional id.
 *
 *   key    v0  transactionalId: string
 *   value  v0  producerId int64, producerEpoch int16, transactionTimeoutMs int32,
 *              status int8, partitions [topic string, partitionIds [int32]] (nullable),
 *              lastUpdateTimestampMs int64, startTimestampMs int64
 *          v1  the same, flexible (compact strings and arrays, tagged fields):
 *              read only; Ganglion writes v0
 */
import { Reader, Writer } from '../../protocol/primitives.js';

export const TXN_KEY_VERSION = 0;
export const TXN_VALUE_VERSION = 0;

/** Kafka's transaction states, with the codes the log stores. */
export const TxnState = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7,
} as const;
export type TxnState = (typeof TxnState)[keyof typeof TxnState];

const STATE_NAMES = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'Dead', 'PrepareEpochFence'] as const;

export function txnStateName(state: TxnState): string {
  return STATE_NAMES[state] ?? 'Unknown';
}

export function txnStateByName(name: string): TxnState | undefined {
  const i = (STATE_NAMES as readonly string[]).indexOf(name);
  return i < 0 ? undefined : (i as TxnState);
}

export interface TxnLogValue {
  producerId: number;
  producerEpoch: number;
  transactionTimeoutMs: number;
  state: TxnState;
  /** topic -> partitions */
  partitions: Map<string, number[]>;
  lastUpdateTimestamp: number;
  startTimestamp: number;
}

export function encodeTxnLogKey(transactionalId: string): Buffer {
  return new Writer(8 + transactionalId.length * 3).int16(TXN_KEY_VERSION).string(transactionalId).toBuffer();
}

/** The transactional id of a key, or null for a key version Ganglion does not know. */
export function decodeTxnLogKey(buf: Buffer): string | null {
  const r = new Reader(buf);
  const version = r.int16();
  if (version !== 0) return null;
  return r.string();
}

export function encodeTxnLogValue(v: TxnLogValue): Buffer {
  const w = new Writer(64);
  w.int16(TXN_VALUE_VERSION)
    .int64(BigInt(v.producerId))
    .int16(v.producerEpoch)
    .int32(v.transactionTimeoutMs)
    .int8(v.state);
  if (v.state === TxnState.Empty && v.partitions.size === 0) {
    w.arrayLength(null);
  } else {
    w.arrayLength(v.partitions.size);
    for (const [topic, partitions] of v.partitions) {
      w.string(topic).arrayLength(partitions.length);
      for (const p of partitions) w.int32(p);
    }
  }
  w.int64(BigInt(v.lastUpdateTimestamp)).int64(BigInt(v.startTimestamp));
  return w.toBuffer();
}

export function decodeTxnLogValue(buf: Buffer): TxnLogValue {
  const r = new Reader(buf);
  const version = r.int16();
  if (version !== 0 && version !== 1) throw new RangeError(`unknown transaction log value version ${version}`);
  const flexible = version >= 1;
  const producerId = Number(r.int64());
  const producerEpoch = r.int16();
  const transactionTimeoutMs = r.int32();
  const state = r.int8() as TxnState;
  const partitions = new Map<string, number[]>();
  const count = flexible ? r.compactArrayLength(2) : r.arrayLength(2);
  for (let i = 0; i < (count ?? 0); i++) {
    const topic = flexible ? r.compactString() : r.string();
    const n = (flexible ? r.compactArrayLength(4) : r.arrayLength(4)) ?? 0;
    const ids: number[] = [];
    for (let j = 0; j < n; j++) ids.push(r.int32());
    if (flexible) r.taggedFields();
    partitions.set(topic, ids);
  }
  const lastUpdateTimestamp = Number(r.int64());
  const startTimestamp = Number(r.int64());
  if (flexible) r.taggedFields();
  return { producerId, producerEpoch, transactionTimeoutMs, state, partitions, lastUpdateTimestamp, startTimestamp };
}
