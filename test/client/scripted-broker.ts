/**
 * A scripted broker for client tests: a TCP server that decodes each
 * request frame with the generated codecs, records it, and answers with
 * whatever the test's script returns (encoded at the version it names), or
 * stays silent. For what a real broker cannot easily be made to do (old
 * API versions, a controller that moves, a server that never answers).
 */
import net from 'node:net';
import { FrameDecoder } from '../../src/network/frame-decoder.js';
import { apiByKey } from '../../src/protocol/messages/api-table.js';
import { decodeRequestHeader, encodeResponseHeader, responseHeaderVersion } from '../../src/protocol/messages/headers.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';

export interface ScriptedRequest {
  apiKey: number;
  apiVersion: number;
  clientId: string | null | undefined;
  /** The decoded request body (null when it did not decode). */
  body: any;
}

/** The response body and the version to encode it at, or null to send nothing. */
export type ScriptedAnswer = { body: unknown; version: number } | null;

export interface ScriptedBroker {
  readonly port: number;
  /** Every request received, in arrival order. */
  readonly seen: ScriptedRequest[];
  close(): Promise<void>;
}

export async function scriptedBroker(answer: (req: ScriptedRequest) => ScriptedAnswer): Promise<ScriptedBroker> {
  const seen: ScriptedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const decoder = new FrameDecoder({ maxFrameBytes: 1 << 20 });
    socket.on('data', (chunk: Buffer) => {
      const frames: Buffer[] = [];
      decoder.push(chunk, frames);
      for (const frame of frames) {
        const r = new Reader(frame);
        const header = decodeRequestHeader(r);
        const api = apiByKey(header.requestApiKey)!;
        let body: unknown = null;
        try {
          body = api.decodeRequest(r, header.requestApiVersion);
        } catch {
          body = null;
        }
        const req: ScriptedRequest = { apiKey: header.requestApiKey, apiVersion: header.requestApiVersion, clientId: header.clientId, body };
        seen.push(req);
        const reply = answer(req);
        if (reply === null) continue;
        const w = new Writer();
        encodeResponseHeader(w, { correlationId: header.correlationId }, responseHeaderVersion(header.requestApiKey, reply.version));
        api.encodeResponse(w, reply.body as never, reply.version);
        const payload = w.toBuffer();
        const size = Buffer.alloc(4);
        size.writeInt32BE(payload.length);
        socket.write(Buffer.concat([size, payload]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
