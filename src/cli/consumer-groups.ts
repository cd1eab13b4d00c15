/**
 * `ganglion consumer-groups`, the counterpart of kafka-consumer-groups.sh:
 * --list, --describe (offsets and lag, --members, --state), --reset-offsets
 * (dry run by default, --execute to apply; only while the group is
 * inactive), --delete and --delete-offsets, with Kafka's columns.
 */
import { Admin, ErrorCode, KafkaError, type GroupDescription, type TopicPartition } from '../client/index.js';
import { CliError, clientSettings, collect, describeError, newCommand, parseArgs, processIo, runTool, type CliIo } from './common.js';

interface Options {
  bootstrapServer?: string;
  commandConfig?: string;
  list?: boolean;
  describe?: boolean;
  delete?: boolean;
  deleteOffsets?: boolean;
  resetOffsets?: boolean;
  group?: string[];
  allGroups?: boolean;
  topic?: string[];
  allTopics?: boolean;
  members?: boolean;
  offsets?: boolean;
  state?: string | boolean;
  verbose?: boolean;
  dryRun?: boolean;
  execute?: boolean;
  toEarliest?: boolean;
  toLatest?: boolean;
  toCurrent?: boolean;
  toOffset?: string;
  toDatetime?: string;
  shiftBy?: string;
  byDuration?: string;
  timeout?: string;
}

export async function consumerGroups(argv: string[], io: CliIo = processIo): Promise<number> {
  return runTool(io, 'consumer-groups', () => run(argv, io), 'Error: ');
}

/** Rows as columns left-aligned to `widths` (the last column unpadded), one space apart. */
function table(rows: string[][], minWidths: number[]): string {
  const widths = minWidths.map((w, i) => Math.max(w, ...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join(' ').trimEnd()).join('\n') + '\n';
}

function parseTopicPartitions(spec: string): { topic: string; partitions: number[] | null } {
  const i = spec.indexOf(':');
  if (i < 0) return { topic: spec, partitions: null };
  const partitions = spec
    .slice(i + 1)
    .split(',')
    .map((p) => {
      const n = Number(p.trim());
      if (!Number.isInteger(n) || n < 0) throw new CliError(`Error: Invalid partition '${p}' in '${spec}'`);
      return n;
    });
  return { topic: spec.slice(0, i), partitions };
}

/** PnDTnHnMnS (ISO-8601 duration, days and time only) in ms. */
export function parseDuration(text: string): number {
  const m = /^(-)?P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(text.trim());
  if (m === null || text.trim().toUpperCase() === 'P' || /T$/i.test(text.trim())) throw new CliError(`Error: Invalid duration '${text}', expected PnDTnHnMnS`);
  const [, neg, d, h, mi, s] = m;
  const ms = ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(mi ?? 0)) * 60_000 + Number(s ?? 0) * 1000;
  return neg ? -ms : ms;
}

/** YYYY-MM-DDTHH:mm:SS.sss (local time), optionally with a zone (Z, +hh:mm). */
export function parseDatetime(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:?\d{2})?$/.exec(text.trim());
  if (m === null) throw new CliError(`Error: Error parsing timestamp. It does not follow format 'yyyy-MM-ddTHH:mm:ss.SSS' (${text})`);
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const ms = Number((frac ?? '0').padEnd(3, '0'));
  if (zone === undefined) return new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms).getTime();
  return Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${String(ms).padStart(3, '0')}${zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`);
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const program = newCommand(io, 'consumer-groups', 'List, describe, reset offsets of, and delete consumer groups (kafka-consumer-groups.sh).')
    .option('--bootstrap-server <server>', 'REQUIRED: The server(s) to connect to.')
    .option('--command-config <file>', 'Property file containing configs to be passed to the admin client.')
    .option('--list', 'List all consumer groups.')
    .option('--describe', 'Describe consumer group and list offset lag (number of messages not yet processed) related to given group.')
    .option('--delete', 'Pass in groups to delete topic partition offsets and ownership information over the entire consumer group.')
    .option('--delete-offsets', 'Delete offsets of consumer group. Supports one consumer group at the time, and multiple topics.')
    .option('--reset-offsets', 'Reset offsets of consumer group (one group at a time, inactive groups only). Needs a scope (--all-topics or --topic) and a reset specifier.')
    .option('--group <group>', 'The consumer group we wish to act on (repeatable).', collect)
    .option('--all-groups', 'Apply to all consumer groups.')
    .option('--topic <topic>', 'The topic (with --reset-offsets: topic:partitions, e.g. t:0,1,2) (repeatable).', collect)
    .option('--all-topics', 'Consider all topics assigned to a group in the reset-offsets process.')
    .option('--members', 'Describe members of the group (with --describe).')
    .option('--offsets', 'Describe the group and list all topic partitions with their offset lag (the default of --describe).')
    .option('--state [state]', 'With --describe: the group state; with --list: only groups in these states (comma-separated).')
    .option('--verbose', 'Detailed information (with --describe --members).')
    .option('--dry-run', 'Only show results without executing changes on consumer groups (the default).')
    .option('--execute', 'Execute the operation.')
    .option('--to-earliest', 'Reset offsets to the earliest offset.')
    .option('--to-latest', 'Reset offsets to the latest offset.')
    .option('--to-current', 'Reset offsets to the current offset.')
    .option('--to-offset <offset>', 'Reset offsets to a specific offset.')
    .option('--to-datetime <datetime>', "Reset offsets to the offset from a datetime. Format: 'YYYY-MM-DDTHH:mm:SS.sss'")
    .option('--shift-by <n>', 'Reset offsets shifting the current offset by n (may be negative).')
    .option('--by-duration <duration>', "Reset offsets to the offset by duration from the current timestamp. Format: 'PnDTnHnMnS'")
    .option('--timeout <ms>', 'Timeout for some operations, in ms.', '5000');
  const opts = parseArgs<Options>(program, argv);
  if (opts.bootstrapServer === undefined) throw new CliError('Missing required argument "[bootstrap-server]"');
  const actions = (['list', 'describe', 'delete', 'deleteOffsets', 'resetOffsets'] as const).filter((a) => opts[a] === true);
  if (actions.length !== 1) throw new CliError('Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets');
  const timeoutMs = Number(opts.timeout);
  const settings = await clientSettings(opts.commandConfig, [], { 'bootstrap.servers': opts.bootstrapServer });
  const admin = new Admin(settings);
  try {
    switch (actions[0]) {
      case 'list':
        return await list(admin, opts, io);
      case 'describe':
        return await describe(admin, opts, io, timeoutMs);
      case 'delete':
        return await deleteGroups(admin, opts, io);
      case 'deleteOffsets':
        return await deleteOffsets(admin, opts, io);
      default:
        return await resetOffsets(admin, opts, io);
    }
  } finally {
    await admin.close();
  }
}

async function groupsOf(admin: Admin, opts: Options): Promise<string[]> {
  if (opts.allGroups) return (await admin.listGroups()).filter((g) => g.protocolType === 'consumer' || g.protocolType === '').map((g) => g.groupId);
  if (opts.group === undefined || opts.group.length === 0) throw new CliError('Option [group] or [all-groups] is required');
  return opts.group;
}

async function list(admin: Admin, opts: Options, io: CliIo): Promise<number> {
  const filter = typeof opts.state === 'string' ? opts.state.split(',').map((s) => s.trim()).filter((s) => s !== '') : undefined;
  const groups = (await admin.listGroups(filter !== undefined ? { states: filter } : {})).filter((g) => g.protocolType === 'consumer' || g.protocolType === '');
  if (opts.state !== undefined) {
    io.stdout.write(table([['GROUP', 'STATE'], ...groups.map((g) => [g.groupId, g.state])], [15, 0]));
  } else {
    for (const g of groups) io.stdout.write(`${g.groupId}\n`);
  }
  return 0;
}

async function describeOne(admin: Admin, group: string, timeoutMs: number): Promise<GroupDescription> {
  const [d] = await admin.describeGroups([group], { timeoutMs });
  return d!;
}

async function describe(admin: Admin, opts: Options, io: CliIo, timeoutMs: number): Promise<number> {
  const groups = await groupsOf(admin, opts);
  let code = 0;
  for (const group of groups) {
    const d = await describeOne(admin, group, timeoutMs);
    if (d.state === 'Dead') {
      io.stderr.write(`Error: Consumer group '${group}' does not exist.\n`);
      code = 1;
      continue;
    }
    if (opts.state !== undefined) {
      const coordinator = `${d.coordinator.host}:${d.coordinator.port}  (${d.coordinator.nodeId})`;
      io.stdout.write(`\n${table([['GROUP', 'COORDINATOR (ID)', 'ASSIGNMENT-STRATEGY', 'STATE', '#MEMBERS'], [group, coordinator, d.protocol, d.state, String(d.members.length)]], [15, 25, 20, 15, 0])}`);
      continue;
    }
    if (d.members.length === 0 && (opts.members || d.state === 'Empty')) io.stderr.write(`\nConsumer group '${group}' has no active members.\n`);
    if (opts.members) {
      const header = ['GROUP', 'CONSUMER-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS'];
      const rows = d.members.map((m) => [group, m.memberId, m.clientHost, m.clientId, String(m.assignment.length)]);
      if (opts.verbose) {
        header.push('ASSIGNMENT');
        rows.forEach((r, i) => r.push(assignmentText(d.members[i]!.assignment)));
      }
      if (rows.length > 0) io.stdout.write(`\n${table([header, ...rows], [15, 15, 15, 15, 12, 0].slice(0, header.length))}`);
      continue;
    }
    // Offsets and lag.
    const committed = await admin.listConsumerGroupOffsets(group, { timeoutMs });
    const owner = new Map<string, GroupDescription['members'][number]>();
    for (const m of d.members) for (const tp of m.assignment) owner.set(`${tp.topic}\0${tp.partition}`, m);
    const keys = new Map<string, TopicPartition>();
    for (const c of committed) keys.set(`${c.topic}\0${c.partition}`, { topic: c.topic, partition: c.partition });
    for (const m of d.members) for (const tp of m.assignment) keys.set(`${tp.topic}\0${tp.partition}`, tp);
    const tps = [...keys.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    const ends = tps.length > 0 ? await admin.listOffsets(tps.map((tp) => ({ ...tp, spec: 'latest' as const })), { timeoutMs }) : [];
    const endOf = new Map(ends.map((e) => [`${e.topic}\0${e.partition}`, e.offset]));
    const offsetOf = new Map(committed.map((c) => [`${c.topic}\0${c.partition}`, c.offset]));
    const rows = tps.map((tp) => {
      const k = `${tp.topic}\0${tp.partition}`;
      const cur = offsetOf.get(k);
      const end = endOf.get(k);
      const m = owner.get(k);
      return [
        group,
        tp.topic,
        String(tp.partition),
        cur === undefined ? '-' : String(cur),
        end === undefined ? '-' : String(end),
        cur === undefined || end === undefined ? '-' : String(Math.max(0, end - cur)),
        m?.memberId ?? '-',
        m?.clientHost ?? '-',
        m?.clientId ?? '-',
      ];
    });
    io.stdout.write(`\n${table([['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'], ...rows], [15, 15, 10, 15, 15, 15, 15, 15, 0])}`);
  }
  return code;
}

function assignmentText(tps: TopicPartition[]): string {
  if (tps.length === 0) return '-';
  const m = new Map<string, number[]>();
  for (const tp of tps) m.set(tp.topic, [...(m.get(tp.topic) ?? []), tp.partition]);
  return [...m].map(([t, ps]) => `${t}(${ps.sort((a, b) => a - b).join(',')})`).join(', ');
}

async function deleteGroups(admin: Admin, opts: Options, io: CliIo): Promise<number> {
  const groups = await groupsOf(admin, opts);
  const results = await admin.deleteGroups(groups);
  const failed = results.filter((r) => r.error !== null);
  const ok = results.filter((r) => r.error === null);
  if (ok.length > 0) io.stdout.write(`Deletion of requested consumer groups (${ok.map((r) => `'${r.groupId}'`).join(', ')}) was successful.\n`);
  if (failed.length > 0) {
    io.stderr.write(`Error: Deletion of some consumer groups failed:\n`);
    for (const f of failed) io.stderr.write(`* Group '${f.groupId}' could not be deleted due to: ${groupErrorText(f.error!)}\n`);
    return 1;
  }
  return 0;
}

function groupErrorText(e: KafkaError): string {
  if (e.code === ErrorCode.NON_EMPTY_GROUP) return 'GroupNotEmptyException: The group is not empty.';
  if (e.code === ErrorCode.GROUP_ID_NOT_FOUND) return 'GroupIdNotFoundException: The group id does not exist.';
  return `${e.errorName}: ${e.message}`;
}

async function deleteOffsets(admin: Admin, opts: Options, io: CliIo): Promise<number> {
  const groups = opts.group ?? [];
  if (groups.length !== 1) throw new CliError('Option [delete-offsets] takes exactly one [group]');
  if (opts.topic === undefined || opts.topic.length === 0) throw new CliError('Option [delete-offsets] takes one or more [topic]');
  const group = groups[0]!;
  const tps: TopicPartition[] = [];
  for (const spec of opts.topic) {
    const { topic, partitions } = parseTopicPartitions(spec);
    if (partitions !== null) for (const p of partitions) tps.push({ topic, partition: p });
    else {
      const [desc] = await admin.describeTopics([topic]);
      for (const p of desc!.partitions) tps.push({ topic, partition: p.partition });
    }
  }
  const results: Array<{ tp: TopicPartition; error: string | null }> = [];
  let topLevel: KafkaError | null = null;
  for (const tp of tps) {
    try {
      await admin.deleteConsumerGroupOffsets(group, [tp]);
      results.push({ tp, error: null });
    } catch (error) {
      if (error instanceof KafkaError && (error.code === ErrorCode.GROUP_ID_NOT_FOUND || error.code === ErrorCode.NON_EMPTY_GROUP)) {
        topLevel = error;
        break;
      }
      results.push({ tp, error: error instanceof KafkaError ? error.errorName : describeError(error) });
    }
  }
  if (topLevel !== null) {
    io.stderr.write(`Error: Encounter some unknown error: ${topLevel.errorName}\n`);
    return 1;
  }
  const failed = results.some((r) => r.error !== null);
  io.stdout.write(failed ? `Request succeed for deleting offsets with some partitions failing from group ${group}.\n` : `Request succeed for deleting offsets from group ${group}.\n`);
  io.stdout.write(`\n${table([['TOPIC', 'PARTITION', 'STATUS'], ...results.map((r) => [r.tp.topic, String(r.tp.partition), r.error === null ? 'Successful' : `Error: ${r.error}`])], [30, 15, 0])}`);
  return failed ? 1 : 0;
}

async function resetOffsets(admin: Admin, opts: Options, io: CliIo): Promise<number> {
  const groups = await groupsOf(admin, opts);
  const specs = (['toEarliest', 'toLatest', 'toCurrent', 'toOffset', 'toDatetime', 'shiftBy', 'byDuration'] as const).filter((k) => opts[k] !== undefined);
  if (specs.length !== 1) {
    throw new CliError('Option [reset-offsets] takes exactly one of these options: [to-datetime], [by-duration], [to-earliest], [to-latest], [shift-by], [from-file], [to-current], [to-offset]');
  }
  if (!opts.allTopics && (opts.topic === undefined || opts.topic.length === 0)) throw new CliError('Option [reset-offsets] takes one of these options: [all-topics], [topic]');
  if (opts.allTopics && opts.topic !== undefined) throw new CliError('Option "[all-topics]" can\'t be used with option "[topic]"');
  if (opts.dryRun && opts.execute) throw new CliError('Option "[dry-run]" can\'t be used with option "[execute]"');
  if (!opts.dryRun && !opts.execute) {
    io.stderr.write('WARN: No action will be performed as the --execute option is missing. Add --dry-run explicitly to keep this behaviour, or --execute to apply the new offsets.\n');
  }
  const spec = specs[0]!;
  const toNumber = (text: string, name: string): number => {
    const n = Number(text);
    if (!Number.isSafeInteger(n)) throw new CliError(`Error: Invalid value '${text}' for --${name}`);
    return n;
  };
  const rows: string[][] = [];
  for (const group of groups) {
    const d = await describeOne(admin, group, 5000);
    if (d.state !== 'Empty' && d.state !== 'Dead') {
      throw new CliError(`Error: Assignments can only be reset if the group '${group}' is inactive, but the current state is ${d.state}.`);
    }
    const committed = await admin.listConsumerGroupOffsets(group);
    const current = new Map(committed.map((c) => [`${c.topic}\0${c.partition}`, c.offset]));
    let tps: TopicPartition[] = [];
    if (opts.allTopics) tps = committed.map((c) => ({ topic: c.topic, partition: c.partition }));
    else {
      for (const s of opts.topic!) {
        const { topic, partitions } = parseTopicPartitions(s);
        if (partitions !== null) tps.push(...partitions.map((partition) => ({ topic, partition })));
        else {
          const [desc] = await admin.describeTopics([topic]);
          tps.push(...desc!.partitions.map((p) => ({ topic, partition: p.partition })));
        }
      }
    }
    tps.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    if (tps.length === 0) continue;
    const lookup = async (s: 'earliest' | 'latest' | { timestamp: number }) =>
      new Map((await admin.listOffsets(tps.map((tp) => ({ ...tp, spec: s })))).map((o) => [`${o.topic}\0${o.partition}`, o.offset]));
    const earliest = await lookup('earliest');
    const latest = await lookup('latest');
    const clamp = (k: string, n: number) => Math.min(latest.get(k)!, Math.max(earliest.get(k)!, n));
    let target: (k: string) => number;
    if (spec === 'toEarliest') target = (k) => earliest.get(k)!;
    else if (spec === 'toLatest') target = (k) => latest.get(k)!;
    else if (spec === 'toCurrent') target = (k) => current.get(k) ?? latest.get(k)!;
    else if (spec === 'toOffset') {
      const n = toNumber(opts.toOffset!, 'to-offset');
      target = (k) => clamp(k, n);
    } else if (spec === 'shiftBy') {
      const n = toNumber(opts.shiftBy!, 'shift-by');
      target = (k) => {
        const cur = current.get(k);
        if (cur === undefined) throw new CliError(`Error: Error getting starting offset of topic partition: ${k.replace('\0', '-')}`);
        return clamp(k, cur + n);
      };
    } else {
      const ts = spec === 'toDatetime' ? parseDatetime(opts.toDatetime!) : Date.now() - parseDuration(opts.byDuration!);
      const found = await lookup({ timestamp: ts });
      target = (k) => {
        const o = found.get(k);
        return o === undefined || o < 0 ? latest.get(k)! : o;
      };
    }
    const offsets = tps.map((tp) => ({ ...tp, offset: target(`${tp.topic}\0${tp.partition}`) }));
    if (opts.execute) await admin.alterConsumerGroupOffsets(group, offsets);
    for (const o of offsets) rows.push([group, o.topic, String(o.partition), String(o.offset)]);
  }
  io.stdout.write(`\n${table([['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'], ...rows], [30, 30, 10, 0])}`);
  return 0;
}
