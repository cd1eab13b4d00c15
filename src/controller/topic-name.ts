/**
 * Topic name rules, as Kafka enforces them: 1..249 characters of
 * [a-zA-Z0-9._-], not "." or "..". Names that differ only by '.' versus '_'
 * collide in metric names, so Kafka warns (and refuses creation) on them.
 */
const MAX_NAME_LENGTH = 249;
const LEGAL = /^[a-zA-Z0-9._-]+$/;

/** Returns why a name is invalid, or null when it is fine. */
export function invalidTopicNameReason(name: string): string | null {
  if (name.length === 0) return 'Topic name is illegal, it can\'t be empty';
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."';
  if (name.length > MAX_NAME_LENGTH) {
    return `Topic name is illegal, it can't be longer than ${MAX_NAME_LENGTH} characters, topic name: ${name}`;
  }
  if (!LEGAL.test(name)) {
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  }
  return null;
}

/** The form two names share when they collide ('.' and '_' are interchangeable). */
export function collisionKey(name: string): string {
  return name.replace(/\./g, '_');
}

export function hasCollisionChars(name: string): boolean {
  return name.includes('.') || name.includes('_');
}

/** Internal topics are managed by the broker itself. */
export const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state']);
