/**
 * Offset checkpoint files, in Kafka's text format so Kafka's tools read them
 * and ours read Kafka's:
 *
 *     0                 <- version
 *     2                 <- number of entries
 *     orders 0 1234     <- topic partition offset
 *     orders 1 98
 *
 * One file per log directory and kind (recovery-point-offset-checkpoint,
 * log-start-offset-checkpoint, replication-offset-checkpoint), replaced
 * atomically (write a temp file, fsync, rename, fsync the directory).
 */
import { readFile } from 'node:fs/promises';
import { CorruptCheckpointError } from './errors.js';
import { isErrno, writeFileAtomic } from './file-io.js';
import { type TopicPartition, checkTopicPartition, tpKey } from './topic-partition.js';

export const RECOVERY_POINT_CHECKPOINT = 'recovery-point-offset-checkpoint';
export const LOG_START_OFFSET_CHECKPOINT = 'log-start-offset-checkpoint';
export const REPLICATION_OFFSET_CHECKPOINT = 'replication-offset-checkpoint';

const VERSION = 0;

export interface CheckpointEntry extends TopicPartition {
  offset: number;
}

export function formatCheckpoint(entries: Iterable<CheckpointEntry>): string {
  const lines: string[] = [];
  for (const e of entries) {
    checkTopicPartition(e);
    if (!Number.isSafeInteger(e.offset)) throw new RangeError(`checkpoint offset ${e.offset} is not an integer`);
    lines.push(`${e.topic} ${e.partition} ${e.offset}`);
  }
  return formatCheckpointText(lines);
}

/** A checkpoint file's text: the version line, the count line, then one line per entry. */
export function formatCheckpointText(entryLines: readonly string[]): string {
  return `${VERSION}\n${entryLines.length}\n${entryLines.map((l) => `${l}\n`).join('')}`;
}

/**
 * The entry lines of a checkpoint file's text, each split at whitespace,
 * after checking the version and count lines (the framing every checkpoint
 * kind shares; each kind checks its own fields). Entry `i` is line `i + 3`.
 */
export function parseCheckpointText(text: string, path: string): string[][] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const bad = (detail: string) => new CorruptCheckpointError(path, detail);
  if (lines.length < 2) throw bad('missing version or count line');
  if (lines[0]!.trim() !== String(VERSION)) throw bad(`unsupported version ${JSON.stringify(lines[0])}`);
  const count = Number(lines[1]!.trim());
  if (!Number.isInteger(count) || count < 0) throw bad(`bad entry count ${JSON.stringify(lines[1])}`);
  if (lines.length - 2 !== count) throw bad(`expected ${count} entries, found ${lines.length - 2}`);
  return lines.slice(2).map((line) => line.trim().split(/\s+/));
}

/** Parses a checkpoint; throws CorruptCheckpointError on anything malformed. */
export function parseCheckpoint(text: string, path = '<checkpoint>'): Map<string, CheckpointEntry> {
  const bad = (detail: string) => new CorruptCheckpointError(path, detail);
  const result = new Map<string, CheckpointEntry>();
  for (const [i, parts] of parseCheckpointText(text, path).entries()) {
    const line = i + 3;
    if (parts.length !== 3) throw bad(`line ${line} is not "topic partition offset"`);
    const [topic, p, o] = parts as [string, string, string];
    const partition = Number(p);
    const offset = Number(o);
    if (!/^-?\d+$/.test(p) || !/^-?\d+$/.test(o) || !Number.isSafeInteger(offset)) throw bad(`line ${line} has a non-numeric field`);
    const entry = { topic, partition, offset };
    try {
      checkTopicPartition(entry);
    } catch (err) {
      throw bad(`line ${line}: ${(err as Error).message}`);
    }
    result.set(tpKey(entry), entry);
  }
  return result;
}

/** Reads a checkpoint file; a missing file is an empty checkpoint. */
export async function readCheckpointFile(path: string): Promise<Map<string, CheckpointEntry>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return new Map();
    throw err;
  }
  return parseCheckpoint(text, path);
}

export async function writeCheckpointFile(path: string, entries: Iterable<CheckpointEntry>): Promise<void> {
  await writeFileAtomic(path, formatCheckpoint(entries));
}
