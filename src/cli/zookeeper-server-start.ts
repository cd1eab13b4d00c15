/**
 * `ganglion zookeeper-server-start zookeeper.properties`, the counterpart of
 * Kafka's zookeeper-server-start.sh: runs the ZooKeeper server installed by
 * Debian's `zookeeper` package in the foreground with that configuration
 * file, as given (dataDir, clientPort, and ensemble settings such as
 * server.N=host:2888:3888 all work as in ZooKeeper). SIGINT and SIGTERM
 * are passed on to ZooKeeper, and the tool exits when it does.
 */
import { spawn } from 'node:child_process';
import { delimiter, resolve } from 'node:path';
import { readPropertiesFile } from '../config/properties.js';
import { zooKeeperInstallation } from '../zookeeper/index.js';
import { CliError, newCommand, parseArgs, processIo, runTool, signalExitCode, type CliIo } from './common.js';

const MAIN_CLASS = 'org.apache.zookeeper.server.quorum.QuorumPeerMain';
/** Kafka's script runs ZooKeeper with a 512 MB heap. */
const HEAP = '-Xmx512m';

export async function zookeeperServerStart(argv: string[], io: CliIo = processIo): Promise<number> {
  return runTool(io, 'zookeeper-server-start', () => run(argv, io));
}

async function run(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes('-daemon')) {
    throw new CliError('-daemon is not supported: run ZooKeeper under your service manager (Debian: systemctl start zookeeper) or with nohup');
  }
  const program = newCommand(io, 'zookeeper-server-start', "Run ZooKeeper (Debian's zookeeper package) in the foreground (zookeeper-server-start.sh).")
    .argument('[zookeeper.properties]', "ZooKeeper's configuration (dataDir, clientPort, ...), e.g. config/zookeeper.properties");
  parseArgs(program, argv);
  const [file] = program.args;
  if (file === undefined) throw new CliError('USAGE: ganglion zookeeper-server-start zookeeper.properties');
  const configFile = resolve(file);
  const settings = await readPropertiesFile(configFile);
  if (!settings.has('dataDir')) throw new CliError(`${file} sets no dataDir: ZooKeeper needs one for its snapshots and logs`);

  const installation = await zooKeeperInstallation().catch((error: Error) => {
    throw new CliError(error.message);
  });
  io.stderr.write(
    `Starting ZooKeeper from ${installation.jar} with ${file} (clientPort=${settings.get('clientPort') ?? '?'}, dataDir=${settings.get('dataDir')})\n`,
  );
  const child = spawn(installation.java, [HEAP, '-cp', installation.classpath.join(delimiter), MAIN_CLASS, configFile], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const stopForwarding = io.onSignal((signal) => child.kill(signal));
  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit, reject) => {
      child.once('error', reject);
      child.once('exit', (c, s) => resolveExit({ code: c, signal: s }));
    });
    if (signal !== null) return signalExitCode(signal);
    return code ?? 1;
  } finally {
    stopForwarding();
  }
}
