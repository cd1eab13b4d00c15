/**
 * Network layer benchmark: request/response round trips per second on one
 * connection at pipelining depth 1 and 16 (small frames), and throughput for
 * 1 MiB responses. The server (SocketServer with a synchronous handler) runs
 * in this process (sync handler, or async where the scenario says); the load-generating client runs in a child process so the
 * two do not share an event loop.
 *
 *   npm run build && node dist/bench/network.js [seconds-per-scenario] [name filter]
 */
import { fork } from 'node:child_process';
import net from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { FrameDecoder, framePrefix } from '../src/network/frame-decoder.js';
import { SocketServer } from '../src/network/socket-server.js';

interface Scenario {
  readonly name: string;
  readonly depth: number;
  /** Response body size. */
  readonly responseBytes: number;
  /** Whether the handler answers through a Promise (as broker handlers will). */
  readonly async?: boolean;
}

interface ScenarioResult {
  readonly responses: number;
  readonly bytes: number;
  readonly seconds: number;
}

const REQUEST_BYTES = 64;
const SCENARIOS: Scenario[] = [
  { name: 'round trips, depth 1 (64 B req / 64 B resp)', depth: 1, responseBytes: 64 },
  { name: 'round trips, depth 16 (64 B req / 64 B resp)', depth: 16, responseBytes: 64 },
  { name: 'round trips, depth 1, async handler', depth: 1, responseBytes: 64, async: true },
  { name: 'round trips, depth 16, async handler', depth: 16, responseBytes: 64, async: true },
  { name: '1 MiB responses, depth 1', depth: 1, responseBytes: 1024 * 1024 },
  { name: '1 MiB responses, depth 4', depth: 4, responseBytes: 1024 * 1024 },
];

/**
 * The request body: its first 4 bytes say how large the response must be,
 * the fifth whether to answer asynchronously.
 */
function request(responseBytes: number, async: boolean): Buffer {
  const body = Buffer.alloc(REQUEST_BYTES);
  body.writeUInt32BE(responseBytes, 0);
  body[4] = async ? 1 : 0;
  return Buffer.concat([framePrefix(body.length), body]);
}

async function runClient(port: number, s: Scenario, ms: number): Promise<ScenarioResult> {
  const sock = net.connect({ port, host: '127.0.0.1' });
  sock.setNoDelay(true);
  await once(sock, 'connect');
  const req = request(s.responseBytes, s.async === true);
  const decoder = new FrameDecoder({ maxFrameBytes: 0x7fffffff });
  const frames: Buffer[] = [];
  let outstanding = 0;
  let responses = 0;
  let bytes = 0;
  let measuring = false;
  let stopping = false;
  let t0 = 0;
  const warmupMs = Math.min(500, ms / 4);
  const fill = () => {
    if (stopping) return;
    sock.cork();
    while (outstanding < s.depth) {
      sock.write(req);
      outstanding++;
    }
    sock.uncork();
  };
  return new Promise<ScenarioResult>((resolve) => {
    const started = performance.now();
    sock.on('data', (chunk: Buffer) => {
      decoder.push(chunk, frames);
      if (frames.length === 0) return;
      outstanding -= frames.length;
      if (measuring) {
        responses += frames.length;
        for (const f of frames) bytes += f.length + 4;
      }
      frames.length = 0;
      const now = performance.now();
      if (!measuring && now - started >= warmupMs) {
        measuring = true;
        t0 = now;
      } else if (measuring && now - t0 >= ms) {
        stopping = true;
      }
      if (stopping) {
        if (outstanding === 0) {
          sock.destroy();
          resolve({ responses, bytes, seconds: (now - t0) / 1000 });
        }
        return;
      }
      fill();
    });
    fill();
  });
}

async function childMain(): Promise<void> {
  process.on('message', async (msg: { port: number; scenario: Scenario; ms: number }) => {
    const r = await runClient(msg.port, msg.scenario, msg.ms);
    process.send!(r);
  });
  process.send!('ready');
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 3);
  const responses = new Map<number, Buffer>();
  const server = new SocketServer({
    listeners: [{ name: 'BENCH', host: '127.0.0.1', port: 0 }],
    maxRequestBytes: 100 * 1024 * 1024,
    handler: (frame) => {
      const size = frame.readUInt32BE(0);
      let r = responses.get(size);
      if (r === undefined) {
        r = Buffer.alloc(size, 1);
        responses.set(size, r);
      }
      return frame[4] === 1 ? Promise.resolve([r]) : [r];
    },
  });
  const [bound] = await server.start();
  const child = fork(fileURLToPath(import.meta.url), ['--client'], { stdio: 'inherit' });
  const [first] = (await once(child, 'message')) as [unknown];
  if (first !== 'ready') throw new Error('bench client failed to start');

  console.log(`Ganglion network bench — Node ${process.version}, ${seconds}s per scenario, client in a child process`);
  const rows: Record<string, string | number>[] = [];
  const only = process.argv[3];
  for (const scenario of SCENARIOS.filter((x) => only === undefined || x.name.includes(only))) {
    child.send({ port: bound!.port, scenario, ms: seconds * 1000 });
    const [r] = (await once(child, 'message')) as [ScenarioResult];
    const perSec = r.responses / r.seconds;
    const mibPerSec = r.bytes / r.seconds / (1024 * 1024);
    rows.push({
      scenario: scenario.name,
      'responses/s': Math.round(perSec),
      'MiB/s (responses)': Number(mibPerSec.toFixed(1)),
      'µs/response': Number((1e6 / perSec).toFixed(1)),
    });
  }
  console.table(rows);
  child.kill();
  await server.stop({ graceMs: 1000 });
}

if (process.argv.includes('--client')) {
  void childMain();
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
