/**
 * Checks what a leader sent a follower before it is appended: whole batches
 * only (a response cut by a size limit may end inside one; that part is
 * fetched again), each with a sound header and a matching CRC-32C, as
 * Kafka's follower validates. Header and checksum only: records are never
 * decoded.
 */
import { HEADER_SIZE, batchSize, crcMatches, headerProblem } from '../../storage/batch-header.js';

export interface FetchedRecords {
  /** The whole batches at the front of the data. */
  records: Buffer;
  /** Why a batch is unusable (nothing from it on is kept), or null. */
  problem: string | null;
}

export function checkFetchedRecords(data: Buffer): FetchedRecords {
  let at = 0;
  while (at + HEADER_SIZE <= data.length) {
    const size = batchSize(data, at);
    // A batch cut off at the end of the response: keep what precedes it.
    if (size > 0 && at + size > data.length) break;
    const problem = headerProblem(data, at, data.length - at);
    if (problem !== null) return { records: data.subarray(0, at), problem: `batch at byte ${at}: ${problem}` };
    if (!crcMatches(data, at, size)) return { records: data.subarray(0, at), problem: `batch at byte ${at}: CRC-32C mismatch` };
    at += size;
  }
  return { records: data.subarray(0, at), problem: null };
}
