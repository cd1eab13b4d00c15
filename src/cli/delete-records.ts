/**
 * `ganglion delete-records`, the counterpart of kafka-delete-records.sh:
 * deletes the records before the offsets given in a JSON file
 * (`{"partitions":[{"topic":"t","partition":0,"offset":5}],"version":1}`,
 * offset -1 meaning the high watermark) and prints each partition's new low
 * watermark.
 */
import { readFile } from 'node:fs/promises';
import { Admin, type DeleteRecordsRequest } from '../client/index.js';
import { CliError, clientSettings, describeError, newCommand, parseArgs, processIo, runTool, type CliIo } from './common.js';

interface DeleteRecordsOptions {
  bootstrapServer?: string;
  offsetJsonFile?: string;
  commandConfig?: string;
}

export async function deleteRecords(argv: string[], io: CliIo = processIo): Promise<number> {
  return runTool(io, 'delete-records', () => runDeleteRecords(argv, io));
}

/** The partitions and offsets of an offset JSON file; throws CliError with Kafka's messages. */
export function parseOffsetJson(text: string): DeleteRecordsRequest[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError('The input string is not a valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CliError('The input string is not a valid JSON object');
  const doc = json as { version?: unknown; partitions?: unknown };
  const version = doc.version ?? 1;
  if (version !== 1) throw new CliError(`Not supported version field value ${String(version)}`);
  if (doc.partitions === undefined) throw new CliError('Missing partitions field');
  if (!Array.isArray(doc.partitions)) throw new CliError('Expected JSON array for field partitions');
  const requests: DeleteRecordsRequest[] = [];
  for (const entry of doc.partitions as unknown[]) {
    const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    const field = (name: string, test: (v: unknown) => boolean, what: string) => {
      if (!(name in e)) throw new CliError(`No such field exists: \`${name}\``);
      if (!test(e[name])) throw new CliError(`Expected ${what} for field ${name}, found ${JSON.stringify(e[name])}`);
      return e[name];
    };
    const topic = field('topic', (v) => typeof v === 'string', 'a string') as string;
    const partition = field('partition', (v) => Number.isInteger(v) && (v as number) >= 0, 'a non-negative integer') as number;
    const offset = field('offset', (v) => Number.isSafeInteger(v), 'an integer') as number;
    requests.push({ topic, partition, offset });
  }
  const seen = new Map<string, number>();
  for (const r of requests) seen.set(`${r.topic}-${r.partition}`, (seen.get(`${r.topic}-${r.partition}`) ?? 0) + 1);
  const duplicates = [...seen].filter(([, n]) => n > 1).map(([k]) => k);
  if (duplicates.length > 0) throw new CliError(`Offset json file contains duplicate topic partitions: ${duplicates.join(',')}`);
  return requests;
}

async function runDeleteRecords(argv: string[], io: CliIo): Promise<number> {
  const program = newCommand(io, 'delete-records', 'Delete the records of partitions up to given offsets (kafka-delete-records.sh).')
    .option('--bootstrap-server <server>', 'REQUIRED: The server to connect to.')
    .option('--offset-json-file <file>', 'REQUIRED: JSON file with the offset per partition: {"partitions":[{"topic":"foo","partition":1,"offset":1}],"version":1}')
    .option('--command-config <file>', 'A property file containing configs to be passed to the admin client.');
  const opts = parseArgs<DeleteRecordsOptions>(program, argv);
  if (opts.bootstrapServer === undefined) throw new CliError('Missing required argument "[bootstrap-server]"');
  if (opts.offsetJsonFile === undefined) throw new CliError('Missing required argument "[offset-json-file]"');
  let text: string;
  try {
    text = await readFile(opts.offsetJsonFile, 'utf8');
  } catch (error) {
    throw new CliError(`Cannot read ${opts.offsetJsonFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const requests = parseOffsetJson(text);

  const settings = await clientSettings(opts.commandConfig, [], { 'bootstrap.servers': opts.bootstrapServer });
  const admin = new Admin(settings);
  try {
    io.stdout.write('Executing records delete operation\n');
    // One call per partition so that each reports its own outcome.
    const outcomes = await Promise.all(
      requests.map(async (r) => {
        try {
          const [result] = await admin.deleteRecords([r]);
          return `partition: ${r.topic}-${r.partition}\tlow_watermark: ${result!.lowWatermark}`;
        } catch (error) {
          return `partition: ${r.topic}-${r.partition}\terror: ${describeError(error)}`;
        }
      }),
    );
    io.stdout.write('Records delete operation completed:\n');
    if (outcomes.length > 0) io.stdout.write(`${outcomes.join('\n')}\n`);
    return 0;
  } finally {
    await admin.close();
  }
}
