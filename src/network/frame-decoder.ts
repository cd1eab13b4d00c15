/**
 * Sans-IO splitter for Kafka's wire framing: each frame is a big-endian int32
 * size followed by that many bytes. Feed it the chunks a socket delivers; it
 * yields whole frames (without the size prefix).
 *
 * - A frame that lies within one chunk is returned as a view into that chunk
 *   (no copy). A frame spanning chunks is assembled with exactly one copy when
 *   its last byte arrives; until then the received pieces are only referenced.
 * - The declared size is validated before anything is done with it: a size
 *   that is zero, negative or above `maxFrameBytes` throws a `ProtocolError`
 *   and nothing of the claimed size is ever allocated. Memory held for a
 *   partial frame is proportional to the bytes actually received.
 * - After a throw the decoder is poisoned (the byte stream cannot be trusted
 *   any more); further pushes throw too.
 *
 * Used by the server side of the network layer and reusable by clients.
 */
import { ProtocolError } from '../protocol/protocol-error.js';

/** Largest size an int32 prefix can express. */
export const MAX_FRAME_BYTES_LIMIT = 0x7fffffff;

export interface FrameDecoderOptions {
  /** Largest acceptable frame body (Kafka's `socket.request.max.bytes`). */
  readonly maxFrameBytes: number;
  /**
   * Allocates the buffer a spanning frame is assembled into. For tests that
   * count allocations; defaults to `Buffer.allocUnsafe`.
   */
  readonly allocate?: (size: number) => Buffer;
}

export class FrameDecoder {
  private readonly maxFrameBytes: number;
  private readonly allocate: (size: number) => Buffer;
  /** Bytes of a size prefix split across chunks. */
  private readonly header = Buffer.alloc(4);
  private headerFill = 0;
  /** Declared size of the frame being assembled, or -1 while reading a prefix. */
  private expected = -1;
  private parts: Buffer[] = [];
  private partBytes = 0;
  private failed: ProtocolError | null = null;

  constructor(opts: FrameDecoderOptions) {
    const max = opts.maxFrameBytes;
    if (!Number.isInteger(max) || max < 1 || max > MAX_FRAME_BYTES_LIMIT) {
      throw new RangeError(`maxFrameBytes must be an integer in [1, ${MAX_FRAME_BYTES_LIMIT}], got ${max}`);
    }
    this.maxFrameBytes = max;
    this.allocate = opts.allocate ?? Buffer.allocUnsafe;
  }

  /**
   * Bytes held for an incomplete frame (including a partial size prefix).
   */
  get partialBytes(): number {
    return this.headerFill + this.partBytes + (this.expected >= 0 ? 4 : 0);
  }

  /** True when no partial frame is pending (the stream is at a frame boundary). */
  get atBoundary(): boolean {
    return this.headerFill === 0 && this.expected < 0;
  }

  /**
   * Consumes `chunk` and appends every frame it completes to `out`, in order.
   * Throws `ProtocolError` on an invalid size prefix; frames completed by the
   * same chunk before the bad prefix are still in `out`.
   */
  push(chunk: Buffer, out: Buffer[]): void {
    if (this.failed !== null) throw this.failed;
    const len = chunk.length;
    let off = 0;
    while (off < len) {
      if (this.expected < 0) {
        let size: number;
        if (this.headerFill === 0 && len - off >= 4) {
          size = chunk.readInt32BE(off);
          off += 4;
        } else {
          const take = Math.min(4 - this.headerFill, len - off);
          chunk.copy(this.header, this.headerFill, off, off + take);
          this.headerFill += take;
          off += take;
          if (this.headerFill < 4) return;
          this.headerFill = 0;
          size = this.header.readInt32BE(0);
        }
        if (size <= 0 || size > this.maxFrameBytes) {
          this.failed = new ProtocolError(
            size <= 0
              ? `invalid frame size ${size} (must be positive)`
              : `frame size ${size} exceeds the maximum of ${this.maxFrameBytes} bytes`,
          );
          throw this.failed;
        }
        const avail = len - off;
        if (avail >= size) {
          out.push(chunk.subarray(off, off + size));
          off += size;
          continue;
        }
        this.expected = size;
        if (avail > 0) {
          this.parts.push(chunk.subarray(off));
          this.partBytes = avail;
        }
        return;
      }
      const take = Math.min(this.expected - this.partBytes, len - off);
      this.parts.push(take === len && off === 0 ? chunk : chunk.subarray(off, off + take));
      this.partBytes += take;
      off += take;
      if (this.partBytes === this.expected) out.push(this.assemble());
    }
  }

  private assemble(): Buffer {
    const frame = this.allocate(this.expected);
    let pos = 0;
    for (const p of this.parts) {
      p.copy(frame, pos);
      pos += p.length;
    }
    this.parts = [];
    this.partBytes = 0;
    this.expected = -1;
    return frame;
  }
}

/** The 4-byte big-endian size prefix for a frame body of `size` bytes. */
export function framePrefix(size: number): Buffer {
  if (!Number.isInteger(size) || size < 0 || size > MAX_FRAME_BYTES_LIMIT) {
    throw new RangeError(`frame size ${size} cannot be expressed as an int32 prefix`);
  }
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(size, 0);
  return b;
}
