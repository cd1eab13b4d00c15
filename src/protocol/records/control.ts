/**
 * Control records: batches with the control attribute whose single record
 * is a marker rather than user data. The ones the broker writes are the
 * transaction markers (COMMIT / ABORT) that close a producer's transaction on
 * each partition it touched; consumers in read_committed use them to drop
 * aborted data, and never hand control records to applications.
 *
 *   key:   version int16 (0), type int16
 *   value: version int16 (0), coordinatorEpoch int32   (for COMMIT / ABORT)
 */
import type { RecordBatch } from './batch.js';
import { buildBatch } from './builder.js';
import type { KafkaRecord } from './record.js';
import { corrupt } from './record-error.js';

export const ControlRecordType = {
  Abort: 0,
  Commit: 1,
  /** The KRaft types below appear only in the metadata log; listed to name them. */
  LeaderChange: 2,
  SnapshotHeader: 3,
  SnapshotFooter: 4,
  KRaftVersion: 5,
  KRaftVoters: 6,
} as const;

export interface ControlRecordKey {
  version: number;
  type: number;
}

export interface TxnMarker {
  commit: boolean;
  coordinatorEpoch: number;
}

const CURRENT_VERSION = 0;

export function encodeControlKey(type: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(CURRENT_VERSION, 0);
  key.writeInt16BE(type, 2);
  return key;
}

export function parseControlKey(key: Buffer | null): ControlRecordKey {
  if (key === null || key.length < 4) throw corrupt(`control record key of ${key?.length ?? 'null'} bytes is too short`);
  const version = key.readInt16BE(0);
  if (version < 0) throw corrupt(`control record key version ${version} is invalid`);
  return { version, type: key.readInt16BE(2) };
}

export function encodeTxnMarkerValue(coordinatorEpoch: number): Buffer {
  const value = Buffer.alloc(6);
  value.writeInt16BE(CURRENT_VERSION, 0);
  value.writeInt32BE(coordinatorEpoch, 2);
  return value;
}

/** The marker a control record holds, or null for a control record that is not COMMIT / ABORT. */
export function parseTxnMarker(record: Pick<KafkaRecord, 'key' | 'value'>): TxnMarker | null {
  const { type } = parseControlKey(record.key);
  if (type !== ControlRecordType.Commit && type !== ControlRecordType.Abort) return null;
  const value = record.value;
  // Later versions may append fields; the epoch stays where version 0 put it.
  if (value === null || value.length < 6) throw corrupt('transaction marker value is too short');
  if (value.readInt16BE(0) < 0) throw corrupt(`transaction marker version ${value.readInt16BE(0)} is invalid`);
  return { commit: type === ControlRecordType.Commit, coordinatorEpoch: value.readInt32BE(2) };
}

/** The transaction marker of a control batch, or null for a data batch. */
export function readTxnMarker(batch: RecordBatch): TxnMarker | null {
  if (!batch.isControl) return null;
  for (const record of batch.records()) return parseTxnMarker(record);
  throw corrupt('control batch has no record');
}

export interface TxnMarkerOptions {
  commit: boolean;
  coordinatorEpoch: number;
  producerId: bigint;
  producerEpoch: number;
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  /** Defaults to now. */
  timestamp?: number;
}

/** A control batch holding one COMMIT or ABORT marker, as the broker appends it. */
export function buildTxnMarkerBatch(options: TxnMarkerOptions): Buffer {
  const type = options.commit ? ControlRecordType.Commit : ControlRecordType.Abort;
  return buildBatch(
    [
      {
        key: encodeControlKey(type),
        value: encodeTxnMarkerValue(options.coordinatorEpoch),
        timestamp: options.timestamp ?? Date.now(),
      },
    ],
    {
      baseOffset: options.baseOffset ?? 0,
      partitionLeaderEpoch: options.partitionLeaderEpoch ?? -1,
      producerId: options.producerId,
      producerEpoch: options.producerEpoch,
      transactional: true,
      control: true,
    },
  );
}
