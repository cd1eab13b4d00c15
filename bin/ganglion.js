#!/usr/bin/env node
// The `ganglion` command: runs the compiled CLI (built by `npm install` / `npm run build`).
import { main } from '../dist/src/cli/main.js';
import { tuneForBufferChurn } from '../dist/src/network/buffer-memory.js';

// Process-wide malloc and V8 heap settings for a broker's buffer traffic (see the module).
tuneForBufferChurn();

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => {
    process.stderr.write(`ganglion: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
