import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { HEAP_GROWING_PERCENT } from '../../src/network/buffer-memory.js';

// Both settings are process-wide, so each case runs in a fresh node process.
const MODULE = pathToFileURL(join(import.meta.dirname, '../../src/network/buffer-memory.js')).href;

function runChild(code: string, nodeArgs: string[] = [], env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(process.execPath, [...nodeArgs, '--input-type=module', '-e', code], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  return r.stdout;
}

const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;

const MIB_PAGES = (1 << 20) / 4096;

/**
 * Minor page faults of filling a 1 MiB buffer (a request frame) allocated
 * right after an equal one was filled and freed. glibc's defaults serve it as
 * a fresh mmap or fresh heap top (the first free only raises its dynamic
 * threshold), so every page faults in; with the thresholds raised it reuses
 * the freed block, whose pages are still mapped. Frees are forced with gc(),
 * with array buffers swept on the main thread (not concurrently, which let a
 * free land after the next allocation now and then), so the measure depends
 * neither on when V8 collects nor on thread timing.
 */
function reallocFaults(tuned: boolean, env: NodeJS.ProcessEnv = {}): number {
  const out = runChild(
    `${tuned ? `(await import(${JSON.stringify(MODULE)})).tuneForBufferChurn();` : ''}
     globalThis.gc();
     const fill = () => { const b = Buffer.allocUnsafe(1 << 20); b.fill(1); return b.length; };
     fill();
     globalThis.gc();
     const before = process.resourceUsage().minorPageFault;
     fill();
     console.log(process.resourceUsage().minorPageFault - before);`,
    ['--expose-gc', '--no-concurrent-array-buffer-sweeping'],
    env,
  );
  return Number(out.trim());
}

test('freed request-sized buffers are reused instead of faulted in again', { skip: glibc ? false : 'needs glibc' }, () => {
  // Untuned, the measure must see fresh memory (otherwise it could not tell the two apart).
  const untuned = reallocFaults(false);
  assert.ok(untuned > MIB_PAGES / 2, `untuned: ${untuned} faults for a ${MIB_PAGES}-page buffer`);
  const tuned = reallocFaults(true);
  assert.ok(tuned < MIB_PAGES / 8, `tuned: ${tuned} faults for a ${MIB_PAGES}-page buffer (untuned: ${untuned})`);
});

test('an operator-set MALLOC_MMAP_THRESHOLD_ is left in charge', { skip: glibc ? false : 'needs glibc' }, () => {
  // glibc turns dynamic thresholds off when the variable is set: a threshold
  // below 1 MiB then keeps every buffer an mmap of its own, tuned or not.
  const faults = reallocFaults(true, { MALLOC_MMAP_THRESHOLD_: String(128 * 1024) });
  assert.ok(faults > MIB_PAGES / 2, `faults: ${faults}`);
});

/** The growing factors of the old-generation limits V8 computed, from --trace-gc-verbose. */
function heapControllerFactors(trace: string): string[] {
  return [...trace.matchAll(/\[HeapController\] Limit: .* \((\d+\.\d)\)$/gm)].map((m) => m[1]!);
}

test('the V8 heap growing factor takes effect at run time', () => {
  const out = runChild(
    `(await import(${JSON.stringify(MODULE)})).tuneForBufferChurn(); globalThis.gc();`,
    ['--expose-gc', '--trace-gc-verbose'],
  );
  // V8 prints the limit it computed with the factor it used, e.g. "new limit: 16052 KB (5.0)".
  const factor = (1 + HEAP_GROWING_PERCENT / 100).toFixed(1);
  assert.ok(out.includes(`[HeapController] Limit: `) && heapControllerFactors(out).every((f) => f === factor), out);
});

test('a --heap-growing-percent given to node is not overridden', () => {
  const out = runChild(
    `(await import(${JSON.stringify(MODULE)})).tuneForBufferChurn(); globalThis.gc();`,
    ['--expose-gc', '--trace-gc-verbose', '--heap-growing-percent=50'],
  );
  assert.deepEqual(heapControllerFactors(out), ['1.5']);
});
