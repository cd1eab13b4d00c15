/** Cluster mode's ZooKeeper layer: the session, Kafka's znodes, and a local ZooKeeper server runner. */
export * from './types.js';
export { ZkSession, ZkError, isZkError, type ZkCreateMode, type ZkErrorCode, type ZkOp, type ZkOpResult, type ZkSessionOptions, type ZkSessionState, type ZkStat } from './zk-session.js';
export { KafkaZkClient } from './kafka-zk-client.js';
export { ZkPaths, PERSISTENT_PATHS } from './zk-data.js';
export {
  startZooKeeperServer,
  zooKeeperInstallation,
  type RunningZooKeeperServer,
  type ZooKeeperInstallation,
  type ZooKeeperServerOptions,
} from './zookeeper-server.js';
