/**
 * The embedded controller's durable state: one JSON document in the first
 * log directory, replaced atomically (write a temp file, fsync, rename) so a
 * crash leaves either the old or the new version, never a torn one.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopicRecord } from './types.js';

export const METADATA_FILE_NAME = 'ganglion-metadata.json';
const FORMAT_VERSION = 1;

export interface MetadataDocument {
  clusterId: string;
  topics: TopicRecord[];
  /** The first producer id not yet handed out in a block (absent before the first allocation). */
  nextProducerId?: number;
}

export async function readMetadataFile(dir: string): Promise<MetadataDocument | null> {
  let text: string;
  try {
    text = await readFile(join(dir, METADATA_FILE_NAME), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const parsed = JSON.parse(text) as { version?: number } & Partial<MetadataDocument>;
  if (parsed.version !== FORMAT_VERSION || typeof parsed.clusterId !== 'string' || !Array.isArray(parsed.topics)) {
    throw new Error(`${join(dir, METADATA_FILE_NAME)} is not a Ganglion metadata file of version ${FORMAT_VERSION}`);
  }
  const doc: MetadataDocument = { clusterId: parsed.clusterId, topics: parsed.topics };
  if (typeof parsed.nextProducerId === 'number') doc.nextProducerId = parsed.nextProducerId;
  return doc;
}

/** Serializes writes so an older snapshot can never land after a newer one. */
export class MetadataFileWriter {
  private last: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string) {}

  write(doc: MetadataDocument): Promise<void> {
    const text = JSON.stringify({ version: FORMAT_VERSION, ...doc }, null, 1);
    const next = this.last.then(() => this.replace(text));
    this.last = next.catch(() => undefined);
    return next;
  }

  private async replace(text: string): Promise<void> {
    const target = join(this.dir, METADATA_FILE_NAME);
    const temp = `${target}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  }
}
