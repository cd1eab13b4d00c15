/**
 * The `ganglion` command: dispatches to a tool by its subcommand name.
 */
export async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  process.stderr.write(`ganglion: unknown command ${JSON.stringify(command ?? '')}\n`);
  return 2;
}
