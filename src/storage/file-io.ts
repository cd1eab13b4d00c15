/** Small asynchronous file helpers; storage makes no synchronous fs calls. */
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Reads up to `length` bytes at `position`; the result is shorter only at end of file. */
export async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/** Writes all of `buf[start, end)` at `position` (a positional write: never O_APPEND). */
export async function writeAt(fh: FileHandle, buf: Buffer, start: number, end: number, position: number): Promise<void> {
  let done = start;
  while (done < end) {
    const { bytesWritten } = await fh.write(buf, done, end - done, position + (done - start));
    if (bytesWritten <= 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
}

/** fsyncs a directory so renames and creations inside it are durable. */
export async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (err) {
    // Some platforms cannot fsync a directory; the rename itself is still atomic.
    if (!isErrno(err, 'EISDIR', 'EINVAL', 'EPERM', 'EACCES')) throw err;
  } finally {
    await fh?.close();
  }
}

/** Replaces `path` atomically: write `path.tmp`, fsync it, rename over, fsync the directory. */
export async function writeFileAtomic(path: string, data: Buffer | string): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await syncDir(dirname(path));
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}

export async function removeIfExists(path: string): Promise<void> {
  await rm(path, { force: true });
}

export function isErrno(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}
