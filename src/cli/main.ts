/**
 * The `ganglion` command: one subcommand per Kafka tool it mirrors.
 */
type Tool = (argv: string[]) => Promise<number>;

/** Tools load on demand, so a command pays only for the code it runs. */
const TOOLS: Record<string, { load: () => Promise<Tool>; summary: string }> = {
  'server-start': {
    load: async () => (await import('./server-start.js')).serverStart,
    summary: 'start a broker (kafka-server-start.sh)',
  },
  'zookeeper-server-start': {
    load: async () => (await import('./zookeeper-server-start.js')).zookeeperServerStart,
    summary: "run Debian's ZooKeeper in the foreground (zookeeper-server-start.sh)",
  },
  'dev-cluster': {
    load: async () => (await import('./dev-cluster.js')).devCluster,
    summary: 'start ZooKeeper and N brokers on this machine for trying cluster mode out',
  },
  topics: {
    load: async () => (await import('./topics.js')).topics,
    summary: 'create, list, describe, alter and delete topics (kafka-topics.sh)',
  },
  'console-producer': {
    load: async () => (await import('./console-producer.js')).consoleProducer,
    summary: 'send lines from standard input as records (kafka-console-producer.sh)',
  },
  'console-consumer': {
    load: async () => (await import('./console-consumer.js')).consoleConsumer,
    summary: 'print records of a topic to standard output (kafka-console-consumer.sh)',
  },
  'consumer-groups': {
    load: async () => (await import('./consumer-groups.js')).consumerGroups,
    summary: 'list, describe, reset offsets of and delete consumer groups (kafka-consumer-groups.sh)',
  },
  configs: {
    load: async () => (await import('./configs.js')).configs,
    summary: 'describe and alter topic and broker configs (kafka-configs.sh)',
  },
  'get-offsets': {
    load: async () => (await import('./get-offsets.js')).getOffsets,
    summary: 'print partition offsets at a time (kafka-get-offsets.sh)',
  },
  'delete-records': {
    load: async () => (await import('./delete-records.js')).deleteRecords,
    summary: 'delete records before an offset per partition (kafka-delete-records.sh)',
  },
  'broker-api-versions': {
    load: async () => (await import('./broker-api-versions.js')).brokerApiVersions,
    summary: 'list the API versions each broker supports (kafka-broker-api-versions.sh)',
  },
  'producer-perf-test': {
    load: async () => (await import('./producer-perf-test.js')).producerPerfTest,
    summary: 'measure producer throughput and latency (kafka-producer-perf-test.sh)',
  },
  'consumer-perf-test': {
    load: async () => (await import('./consumer-perf-test.js')).consumerPerfTest,
    summary: 'measure consumer throughput (kafka-consumer-perf-test.sh)',
  },
  'reassign-partitions': {
    load: async () => (await import('./reassign-partitions.js')).reassignPartitions,
    summary: 'move partition replicas between brokers (kafka-reassign-partitions.sh)',
  },
  'leader-election': {
    load: async () => (await import('./leader-election.js')).leaderElection,
    summary: 'elect preferred or unclean partition leaders (kafka-leader-election.sh)',
  },
  'dump-log': {
    load: async () => (await import('./dump-log.js')).dumpLog,
    summary: 'print and check log segments and indexes offline (kafka-dump-log.sh)',
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(TOOLS).map((n) => n.length)) + 2;
  const lines = Object.entries(TOOLS).map(([name, t]) => `  ${name.padEnd(width)}${t.summary}`);
  return (
    `Usage: ganglion <command> [options]\n\nCommands:\n${lines.join('\n')}\n\n` +
    `Run 'ganglion <command> --help' for a command's options.\n`
  );
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(usage());
    return command === undefined ? 2 : 0;
  }
  const tool = TOOLS[command];
  if (!tool) {
    process.stderr.write(`ganglion: unknown command '${command}'\n\n${usage()}`);
    return 2;
  }
  const run = await tool.load();
  const code = await run(rest);
  if (command !== 'server-start') {
    // The tool is done and its clients are closed: exit even if a client left work scheduled
    // (as Kafka's tools call Exit.exit). Unref'd, so a clean exit is not delayed.
    setTimeout(() => process.exit(code), 1000).unref();
  }
  return code;
}
