/**
 * The `ganglion` command: one subcommand per Kafka tool it mirrors.
 */
import { serverStart } from './server-start.js';

type Tool = (argv: string[]) => Promise<number>;

const TOOLS: Record<string, { run: Tool; summary: string }> = {
  'server-start': { run: serverStart, summary: 'start a broker (kafka-server-start.sh)' },
};

function usage(): string {
  const lines = Object.entries(TOOLS).map(([name, t]) => `  ${name.padEnd(16)} ${t.summary}`);
  return `Usage: ganglion <command> [options]\n\nCommands:\n${lines.join('\n')}\n`;
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
  return tool.run(rest);
}
