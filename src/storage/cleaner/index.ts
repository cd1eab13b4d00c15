/** Log compaction: the cleaner, its offset map, batch filtering and the crash-safe segment swap. */
export {
  CLEANER_OFFSET_CHECKPOINT,
  CleanerAbortedError,
  LogCleaner,
  type CleanResult,
  type CleanableLog,
  type CleanerHost,
  type CleanerStats,
  type LogCleanerConfig,
  type LogCleanerOptions,
} from './cleaner.js';
export { type Compressor, filterBatch, rebuildBatch, scanRecords, type FilterPolicy, type FilterResult } from './batch-filter.js';
export { OffsetMap } from './offset-map.js';
export { CLEANED_SUFFIX, SWAP_SUFFIX, completeInterruptedSwaps, type SwapRecovery } from './swap.js';
