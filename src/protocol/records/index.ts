/** RecordBatch v2: views, iteration, building, compression, control records. */
export {
  RecordBatch,
  TimestampType,
  type RecordsOptions,
  type ValidateOptions,
} from './batch.js';
export { BatchSplitter, scanBatches, splitBatches, type BatchScan } from './batches.js';
export {
  buildBatch,
  buildBatchAsync,
  type BuildOptions,
  type Bytes,
  type HeaderInput,
  type RecordInput,
} from './builder.js';
export {
  CompressionType,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  compress,
  compressAsync,
  compressionName,
  compressionTypeByName,
  decompress,
  decompressAsync,
  type CompressOptions,
  type CompressionName,
  type SnappyFraming,
} from './compression.js';
export {
  ControlRecordType,
  buildTxnMarkerBatch,
  encodeControlKey,
  encodeTxnMarkerValue,
  parseControlKey,
  parseTxnMarker,
  readTxnMarker,
  type ControlRecordKey,
  type TxnMarker,
  type TxnMarkerOptions,
} from './control.js';
export { RecordIterator, type KafkaRecord, type RecordHeader } from './record.js';
export { RecordError } from './record-error.js';
