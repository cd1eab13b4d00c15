/**
 * Which partition of __consumer_offsets holds a group: Kafka's
 * `Utils.abs(groupId.hashCode) % partitionCount`, with Java's String.hashCode
 * (31-based over UTF-16 code units, int32 overflow) and Kafka's Utils.abs,
 * which maps Integer.MIN_VALUE to 0 (Math.abs would leave it negative). Using
 * the same function as Kafka keeps a group on the same partition, so its
 * records can be read by Kafka's tools and a group id maps the same way.
 */

/** Java's `String.hashCode()`. */
export function javaStringHashCode(value: string): number {
  let hash = 0;
  for (let i = 0; i < value.length; i++) {
    hash = (Math.imul(hash, 31) + value.charCodeAt(i)) | 0;
  }
  return hash;
}

/** Kafka's `Utils.abs`: |n|, except that Integer.MIN_VALUE maps to 0. */
export function kafkaAbs(n: number): number {
  return n === -0x80000000 ? 0 : Math.abs(n);
}

export function partitionForGroup(groupId: string, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount <= 0) {
    throw new RangeError(`partition count must be a positive integer, got ${partitionCount}`);
  }
  return kafkaAbs(javaStringHashCode(groupId)) % partitionCount;
}
