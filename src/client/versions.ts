/**
 * The API versions this client speaks. The generated codecs encode every
 * version, but the client's logic reads and writes fields that differ by
 * version, so each API it uses is pinned to the range that logic handles.
 * APIs not listed here default to the codec's full range (what a future
 * group membership component can narrow when it lands).
 */
import { ApiKey, apiByKey } from '../protocol/messages/api-table.js';

const RANGES: Partial<Record<number, { min: number; max: number }>> = {
  // Record batches (magic 2) only, as Kafka 4 does.
  [ApiKey.Produce]: { min: 3, max: 11 },
  // v4+: record batches, last stable offset; v13+: topic ids (used when known).
  [ApiKey.Fetch]: { min: 4, max: 17 },
  // v1+: one offset per partition (v0's offset lists are not used).
  [ApiKey.ListOffsets]: { min: 1, max: 10 },
  // v1+: a null topic list means every topic.
  [ApiKey.Metadata]: { min: 1, max: 12 },
  [ApiKey.ApiVersions]: { min: 0, max: 4 },
  [ApiKey.CreateTopics]: { min: 0, max: 7 },
  [ApiKey.DeleteTopics]: { min: 0, max: 6 },
  [ApiKey.DeleteRecords]: { min: 0, max: 2 },
  [ApiKey.CreatePartitions]: { min: 0, max: 3 },
  [ApiKey.DescribeConfigs]: { min: 0, max: 4 },
  [ApiKey.AlterConfigs]: { min: 0, max: 2 },
  [ApiKey.IncrementalAlterConfigs]: { min: 0, max: 1 },
  [ApiKey.DescribeCluster]: { min: 0, max: 1 },
  [ApiKey.DescribeLogDirs]: { min: 0, max: 4 },
};

/** The versions of an API this client can use. */
export function clientVersionRange(apiKey: number): { min: number; max: number } {
  const pinned = RANGES[apiKey];
  if (pinned !== undefined) return pinned;
  const api = apiByKey(apiKey);
  return api === undefined ? { min: 0, max: -1 } : { min: api.minVersion, max: api.maxVersion };
}
