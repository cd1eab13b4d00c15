/** Topic-partition identity and the partition directory naming (`<topic>-<partition>`). */

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

const SAFE_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * Checks what storage itself relies on: the name is a safe file name and has
 * no whitespace (checkpoint lines are space separated). Kafka's full naming
 * rules are enforced where topics are created.
 */
export function checkTopicPartition(tp: TopicPartition): void {
  if (!SAFE_TOPIC.test(tp.topic) || tp.topic === '.' || tp.topic === '..') {
    throw new RangeError(`illegal topic name for a log directory: ${JSON.stringify(tp.topic)}`);
  }
  if (!Number.isInteger(tp.partition) || tp.partition < 0 || tp.partition > 0x7fffffff) {
    throw new RangeError(`illegal partition ${tp.partition}`);
  }
}

/** `topic-partition`: the directory name and the map key (unambiguous: the partition is all digits). */
export function tpKey(tp: TopicPartition): string {
  return `${tp.topic}-${tp.partition}`;
}

/** Parses a partition directory name, or null when it is not one (e.g. `x.<id>-delete`). */
export function parseTopicPartitionDir(name: string): TopicPartition | null {
  const dash = name.lastIndexOf('-');
  if (dash <= 0) return null;
  const digits = name.slice(dash + 1);
  if (!/^\d{1,10}$/.test(digits)) return null;
  const tp = { topic: name.slice(0, dash), partition: Number(digits) };
  try {
    checkTopicPartition(tp);
  } catch {
    return null;
  }
  return tp;
}
