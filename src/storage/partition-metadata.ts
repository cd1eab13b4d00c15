/**
 * `partition.metadata`: the topic id stored beside each partition log
 * (KIP-516), in Kafka's text format:
 *
 *   version: 0
 *   topic_id: <22-character base64url uuid>
 *
 * A log whose stored id differs from the controller's id for its topic is a
 * stale replica of a deleted topic that had the same name; the replica
 * manager deletes it instead of serving its records under the new topic.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno, writeFileAtomic } from './file-io.js';

export const PARTITION_METADATA_FILE = 'partition.metadata';
const VERSION = 0;
/** 16 bytes in base64url without padding, as Kafka's Uuid.toString() prints them. */
const UUID_TEXT = /^[A-Za-z0-9_-]{21}[AQgw]$/;

/** The file is there but is not a partition.metadata Kafka or Ganglion could have written. */
export class PartitionMetadataError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`malformed ${path}: ${reason}`);
    this.name = 'PartitionMetadataError';
  }
}

/** The file's text for `topicId`, byte for byte what Kafka writes (no trailing newline). */
export function encodePartitionMetadata(topicId: string): string {
  if (!UUID_TEXT.test(topicId)) throw new Error(`not a topic id: ${JSON.stringify(topicId)}`);
  return `version: ${VERSION}\ntopic_id: ${topicId}`;
}

/** The topic id in a file's text; throws PartitionMetadataError (naming `path`) when malformed. */
export function parsePartitionMetadata(text: string, path = PARTITION_METADATA_FILE): string {
  // Kafka splits each line at ':' plus whitespace; a trailing newline is tolerated.
  const lines = text.replace(/\r?\n$/, '').split(/\r?\n/);
  if (lines.length !== 2) throw new PartitionMetadataError(path, `expected 2 lines, found ${lines.length}`);
  const version = field(lines[0]!, 'version', path);
  if (version !== String(VERSION)) throw new PartitionMetadataError(path, `unsupported version ${JSON.stringify(version)}`);
  const topicId = field(lines[1]!, 'topic_id', path);
  if (!UUID_TEXT.test(topicId)) throw new PartitionMetadataError(path, `"topic_id" is not a base64url uuid: ${JSON.stringify(topicId)}`);
  return topicId;
}

function field(line: string, name: string, path: string): string {
  const match = /^([^:]*):\s+(.*)$/.exec(line);
  if (match === null || match[1] !== name) throw new PartitionMetadataError(path, `expected "${name}: <value>", found ${JSON.stringify(line)}`);
  return match[2]!.trim();
}

/** The topic id stored in partition directory `dir`; null when it has no partition.metadata. */
export async function readPartitionMetadata(dir: string): Promise<string | null> {
  const path = join(dir, PARTITION_METADATA_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
  return parsePartitionMetadata(text, path);
}

/** Stores `topicId` in partition directory `dir`, atomically (tmp file, fsync, rename). */
export async function writePartitionMetadata(dir: string, topicId: string): Promise<void> {
  await writeFileAtomic(join(dir, PARTITION_METADATA_FILE), encodePartitionMetadata(topicId));
}
