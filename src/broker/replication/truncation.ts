/**
 * Where a follower cuts its log after asking the leader where the
 * follower's latest epoch ended (Kafka's getOffsetTruncationState). The
 * rule, given the leader's answer (epoch L, end offset E) and the follower's
 * log end offset F:
 *
 *   - the leader has no such epoch (UNDEFINED end offset): cut to the
 *     follower's high watermark, what it knows was committed;
 *   - the leader has no epoch at all (UNDEFINED epoch, a defined offset):
 *     cut to min(E, F);
 *   - the follower knows epoch L: both logs agree up to min(its own end of L,
 *     E), so cut there (never past F); done;
 *   - the follower does not know L: cut to the end of the largest epoch it
 *     has below L and ask again with that epoch (not done);
 *   - the follower has no epoch at or below L: cut to min(E, F); done.
 */
import { UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, type EpochEndOffset } from '../../storage/leader-epoch-cache.js';

export interface TruncationDecision {
  offset: number;
  /** False when the follower must ask again (with the epoch it has after this cut). */
  complete: boolean;
}

export interface FollowerLogView {
  logEndOffset: number;
  highWatermark: number;
  /** The follower's own endOffsetFor (its leader epoch cache). */
  endOffsetForEpoch(epoch: number): EpochEndOffset;
}

export function truncationDecision(leader: EpochEndOffset, follower: FollowerLogView): TruncationDecision {
  const ownEnd = follower.logEndOffset;
  if (leader.endOffset === UNDEFINED_EPOCH_OFFSET) return { offset: Math.min(follower.highWatermark, ownEnd), complete: true };
  if (leader.epoch === UNDEFINED_EPOCH) return { offset: Math.min(leader.endOffset, ownEnd), complete: true };
  const own = follower.endOffsetForEpoch(leader.epoch);
  if (own.endOffset === UNDEFINED_EPOCH_OFFSET) return { offset: Math.min(leader.endOffset, ownEnd), complete: true };
  if (own.epoch !== leader.epoch) return { offset: Math.min(own.endOffset, ownEnd), complete: false };
  return { offset: Math.min(own.endOffset, leader.endOffset, ownEnd), complete: true };
}
