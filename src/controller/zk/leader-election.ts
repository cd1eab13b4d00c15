/**
 * Kafka's leader-election rules, as pure functions of a partition's
 * assignment, ISR and the live brokers. The controller decides *when* to
 * elect; these decide *whom*. Replicas are tried in assignment order, so the
 * preferred replica (the first) wins whenever it is eligible.
 */

export interface Election {
  leader: number;
  isr: number[];
}

/** Leader gone (broker death, new partition): the first live ISR member; with unclean election, any live replica. */
export function electOfflineLeader(
  replicas: readonly number[],
  isr: readonly number[],
  live: ReadonlySet<number>,
  uncleanAllowed: boolean,
): Election | null {
  const liveIsr = isr.filter((id) => live.has(id));
  const clean = replicas.find((id) => live.has(id) && isr.includes(id));
  if (clean !== undefined) return { leader: clean, isr: liveIsr };
  if (!uncleanAllowed) return null;
  const unclean = replicas.find((id) => live.has(id));
  // An unclean leader starts a new history: it is the only replica known to be in sync with it.
  return unclean === undefined ? null : { leader: unclean, isr: [unclean] };
}

/** Preferred-replica election: only the first assigned replica, and only when it is live and in sync. */
export function electPreferredLeader(
  replicas: readonly number[],
  isr: readonly number[],
  live: ReadonlySet<number>,
): Election | null {
  const preferred = replicas[0];
  if (preferred === undefined || !live.has(preferred) || !isr.includes(preferred)) return null;
  return { leader: preferred, isr: [...isr] };
}

/** Controlled shutdown: a live ISR member that is not shutting down; the shutting-down brokers leave the ISR. */
export function electControlledShutdownLeader(
  replicas: readonly number[],
  isr: readonly number[],
  live: ReadonlySet<number>,
  shuttingDown: ReadonlySet<number>,
): Election | null {
  const newIsr = isr.filter((id) => !shuttingDown.has(id));
  const leader = replicas.find((id) => live.has(id) && newIsr.includes(id));
  return leader === undefined ? null : { leader, isr: newIsr };
}

/** End of a reassignment: the leader must come from the target replicas, in sync and live. */
export function electReassignmentLeader(
  target: readonly number[],
  isr: readonly number[],
  live: ReadonlySet<number>,
): Election | null {
  const leader = target.find((id) => live.has(id) && isr.includes(id));
  return leader === undefined ? null : { leader, isr: isr.filter((id) => target.includes(id)) };
}
