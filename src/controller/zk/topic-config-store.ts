/**
 * Topic config overrides as a cluster-mode broker knows them: read from
 * `/config/topics/<t>` when a topic first shows up, and re-read when a
 * `/config/changes/config_change_<seq>` notification names it (Kafka's
 * ZkConfigManager on a broker). Notifications already present at start-up
 * are skipped, since every topic's config is read fresh then; notifications
 * for entities this broker does not track (other topics, clients, users,
 * brokers) are ignored. Watches die with a ZooKeeper session, so `resync`
 * re-arms the watch and re-reads every tracked topic.
 */
import type { Logger } from '../../logging.js';
import type { KafkaZkOperations } from '../../zookeeper/types.js';

export type TopicConfigZk = Pick<KafkaZkOperations, 'getTopicConfig' | 'getConfigChangeNotifications' | 'getConfigChangeEntity'>;

const TOPIC_ENTITY_PREFIX = 'topics/';

/** The sequence number ZooKeeper appended to a notification's name, or -1. */
export function notificationSequence(name: string): number {
  const match = /(\d+)$/.exec(name);
  return match ? Number(match[1]) : -1;
}

export class TopicConfigStore {
  private readonly configs = new Map<string, Record<string, string>>();
  private lastSeen = -1;
  private started = false;
  private closed = false;
  /** Notification handling runs one batch at a time, in order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly zk: TopicConfigZk,
    private readonly logger: Logger,
    /** Called after a tracked topic's overrides were re-read because they changed. */
    private readonly onChanged: (topic: string) => void,
  ) {}

  /** The overrides of a tracked topic; empty for topics not (yet) read. */
  get(topic: string): Record<string, string> {
    return this.configs.get(topic) ?? {};
  }

  tracks(topic: string): boolean {
    return this.configs.has(topic);
  }

  /** Reads a topic's overrides from ZooKeeper and tracks the topic from now on. */
  async load(topic: string): Promise<Record<string, string>> {
    const configs = await this.zk.getTopicConfig(topic);
    if (!this.closed) this.configs.set(topic, configs);
    return configs;
  }

  /** Records overrides this broker itself just wrote (the notification it wrote will re-read them anyway). */
  set(topic: string, configs: Record<string, string>): void {
    this.configs.set(topic, { ...configs });
  }

  forget(topic: string): void {
    this.configs.delete(topic);
  }

  /** Skips the notifications present now and watches for new ones. */
  async start(): Promise<void> {
    const names = await this.zk.getConfigChangeNotifications(() => this.onNotification());
    for (const name of names) this.lastSeen = Math.max(this.lastSeen, notificationSequence(name));
    this.started = true;
  }

  /** After a new ZooKeeper session: the watch is gone and changes may have been missed. */
  resync(): Promise<void> {
    return this.enqueue(async () => {
      if (!this.started) return;
      await this.processNotifications();
      for (const topic of [...this.configs.keys()]) await this.reload(topic);
    });
  }

  close(): void {
    this.closed = true;
  }

  private onNotification(): void {
    if (this.closed) return;
    void this.enqueue(() => this.processNotifications());
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.chain.then(task).catch((err: unknown) => {
      this.logger.error('processing topic config changes failed', { err: String(err) });
    });
    this.chain = run;
    return run;
  }

  private async processNotifications(): Promise<void> {
    if (this.closed) return;
    const names = await this.zk.getConfigChangeNotifications(() => this.onNotification());
    const fresh = names
      .map((name) => ({ name, sequence: notificationSequence(name) }))
      .filter((n) => n.sequence > this.lastSeen)
      .sort((a, b) => a.sequence - b.sequence);
    for (const { name, sequence } of fresh) {
      this.lastSeen = sequence;
      const entity = await this.zk.getConfigChangeEntity(name);
      if (entity === null || !entity.startsWith(TOPIC_ENTITY_PREFIX)) continue;
      const topic = entity.slice(TOPIC_ENTITY_PREFIX.length);
      if (this.configs.has(topic)) await this.reload(topic);
    }
  }

  private async reload(topic: string): Promise<void> {
    const configs = await this.zk.getTopicConfig(topic);
    if (this.closed || !this.configs.has(topic)) return;
    const before = JSON.stringify(this.configs.get(topic));
    this.configs.set(topic, configs);
    if (JSON.stringify(configs) !== before) {
      this.logger.info('topic config changed', { topic, configs });
      this.onChanged(topic);
    }
  }
}
