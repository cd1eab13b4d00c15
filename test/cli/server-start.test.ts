/**
 * `ganglion server-start --log-level`: the level filters the broker's log
 * lines on stderr (the bench runs brokers at debug through it), and a level
 * that is not one of the logger's is refused before anything starts.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, makeTempDir, removeDir, repoRoot, waitFor } from '../helpers/broker.js';
import { ganglion, startGanglion } from './helpers.js';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

test('--log-level warn: the broker serves and writes none of its info lines', async () => {
  const dir = await makeTempDir('ganglion-server-start-');
  const port = await freePort();
  const listener = `PLAINTEXT://127.0.0.1:${port}`;
  const broker = startGanglion([
    'server-start', join(repoRoot, 'config', 'server.properties'), '--log-level', 'warn',
    '--override', `log.dirs=${dir}`, '--override', `listeners=${listener}`, '--override', `advertised.listeners=${listener}`,
  ]);
  try {
    await waitFor(() => accepts(port), { timeoutMs: 15_000, intervalMs: 50, what: `the broker to listen on ${port}` });
    await broker.stop(10_000);
    assert.equal(broker.exitCode, 0, broker.output());
    const logLines = broker.stderrLines.filter((l) => l.startsWith('{'));
    assert.deepEqual(logLines.filter((l) => (JSON.parse(l) as { level: number }).level < 40), [], broker.output());
    // The shutdown notice is the CLI's own line, not a log line: it still shows.
    assert.ok(broker.stderrLines.includes('ganglion: SIGTERM received, shutting down'), broker.output());
  } finally {
    await broker.stop(1000);
    await removeDir(dir);
  }
});

test('--log-level with an unknown level: exit 1 naming the allowed ones', async () => {
  const r = await ganglion(['server-start', '--log-level', 'verbose']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /'verbose' is invalid\. Allowed choices are debug, info, warn, error, silent/);
});
