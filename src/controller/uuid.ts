import { randomBytes } from 'node:crypto';
import { ZERO_UUID, uuidFromBytes, type Uuid } from '../protocol/primitives.js';

/** Kafka reserves the all-zero id ("no id") and the id whose last byte is 1 (metadata topic). */
const ONE_UUID = uuidFromBytes(Buffer.from([...new Array<number>(15).fill(0), 1]));

/**
 * A random Uuid as Kafka makes them: never a reserved id, and never one whose
 * text form starts with '-', which command-line tools would read as a flag.
 */
export function randomUuid(): Uuid {
  for (;;) {
    const id = uuidFromBytes(randomBytes(16));
    if (id !== ZERO_UUID && id !== ONE_UUID && !id.startsWith('-')) return id;
  }
}
