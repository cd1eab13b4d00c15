/**
 * Requests that must go to each partition's leader (ListOffsets,
 * DeleteRecords): group the partitions by leader, send one request per
 * leader, and retry the partitions that failed retriably (after a metadata
 * refresh and a backoff) until a deadline.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { Cluster } from './cluster.js';
import type { BrokerConnection } from './connection.js';
import { ClientClosedError, TimeoutError, isRetriable } from './errors.js';
import { backoff, groupBy, sleep, tpKey, type TopicPartition } from './util.js';

/** One partition's outcome from a leader's response. */
export interface PartitionOutcome<R> {
  topic: string;
  partition: number;
  errorCode: number;
  errorMessage?: string | null;
  result?: R;
}

export interface LeaderRequestOptions {
  /** Fail at once for topics metadata says do not exist (admin); otherwise keep waiting for them (consumer). */
  failUnknownTopics: boolean;
  /** What the call is, for timeout messages. */
  what: string;
}

export interface LeaderResults<R> {
  results: Map<string, R>;
  failures: Array<{ resource: string; error: KafkaError }>;
}

/**
 * Runs `send` against the leader of every partition in `tps`, retrying
 * retriable failures until `deadline`. Non-retriable per-partition errors
 * are returned as failures; running out of time throws TimeoutError.
 */
export async function requestLeaders<R>(
  cluster: Cluster,
  tps: readonly TopicPartition[],
  deadline: number,
  send: (conn: BrokerConnection, tps: TopicPartition[]) => Promise<Array<PartitionOutcome<R>>>,
  options: LeaderRequestOptions,
): Promise<LeaderResults<R>> {
  const pending = new Map<string, TopicPartition>();
  for (const tp of tps) pending.set(tpKey(tp.topic, tp.partition), tp);
  const results = new Map<string, R>();
  const failures: Array<{ resource: string; error: KafkaError }> = [];
  let attempt = 0;
  let lastError: Error | null = null;
  const fail = (tp: TopicPartition, error: KafkaError): void => {
    const key = tpKey(tp.topic, tp.partition);
    pending.delete(key);
    failures.push({ resource: key, error });
  };

  while (pending.size > 0) {
    if (cluster.closed) throw new ClientClosedError('the client is closed');
    const topics = new Set([...pending.values()].map((tp) => tp.topic));
    const missing = [...topics].filter((t) => !cluster.metadata.topics.has(t));
    if (missing.length > 0 || attempt > 0) {
      cluster.trackTopics(topics);
      try {
        await cluster.raceDeadline(cluster.refreshMetadata(), deadline);
      } catch (error) {
        if (error instanceof ClientClosedError) throw error;
        lastError = error as Error;
      }
    }
    const metadata = cluster.metadata;
    const byLeader = new Map<number, TopicPartition[]>();
    for (const tp of [...pending.values()]) {
      const topic = metadata.topics.get(tp.topic);
      if (topic === undefined) {
        const code = cluster.topicError(tp.topic);
        if (code !== undefined && (options.failUnknownTopics || !errorIsRetriable(code))) {
          fail(tp, new KafkaError(code, `topic '${tp.topic}'`));
        }
        continue;
      }
      const p = topic.partitions[tp.partition];
      if (p === undefined) {
        if (options.failUnknownTopics) {
          fail(tp, new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${tpKey(tp.topic, tp.partition)} does not exist`));
        }
        continue;
      }
      if (p.leader < 0) continue;
      const list = byLeader.get(p.leader);
      if (list === undefined) byLeader.set(p.leader, [tp]);
      else list.push(tp);
    }

    await Promise.all(
      [...byLeader].map(async ([leader, group]) => {
        let outcomes: Array<PartitionOutcome<R>>;
        try {
          const conn = await cluster.connectionToNode(leader);
          outcomes = await send(conn, group);
        } catch (error) {
          if (!isRetriable(error)) {
            for (const tp of group) fail(tp, error instanceof KafkaError ? error : new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, (error as Error).message));
            return;
          }
          lastError = error as Error;
          cluster.requestUpdate();
          return;
        }
        const answered = groupBy(outcomes, (o) => tpKey(o.topic, o.partition));
        for (const tp of group) {
          const key = tpKey(tp.topic, tp.partition);
          const o = answered.get(key)?.[0];
          if (o === undefined) continue;
          if (o.errorCode === ErrorCode.NONE) {
            results.set(key, o.result as R);
            pending.delete(key);
          } else if (errorIsRetriable(o.errorCode) && !(options.failUnknownTopics && o.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && attempt > 2)) {
            lastError = new KafkaError(o.errorCode, o.errorMessage ?? `${key}`);
          } else {
            fail(tp, new KafkaError(o.errorCode, o.errorMessage ? `${o.errorMessage} (${key})` : key));
          }
        }
      }),
    );

    if (pending.size === 0) break;
    attempt++;
    const delay = backoff(attempt, cluster.options.retryBackoffMs, cluster.options.retryBackoffMaxMs);
    if (Date.now() + delay >= deadline) {
      const keys = [...pending.keys()].join(', ');
      throw new TimeoutError(
        `${options.what} timed out for ${keys}${lastError !== null ? ` (last error: ${lastError.message})` : ''}`,
      );
    }
    await sleep(delay, cluster.signal);
  }
  return { results, failures };
}

function errorIsRetriable(code: number): boolean {
  return new KafkaError(code).retriable;
}
