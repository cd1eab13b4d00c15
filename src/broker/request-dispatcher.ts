/**
 * Turns request frames into responses: reads the header, checks the API and
 * version against the registry, decodes the body, runs the handler and
 * encodes the response with the header version that API version uses.
 *
 * What Kafka does with bad input, we do: an ApiVersions request of a version
 * we do not know gets an UNSUPPORTED_VERSION answer in version 0 (so the
 * client can downgrade); any other unknown API, unsupported version or
 * undecodable request closes the connection (throwing here tells the network
 * layer to do so), and every other connection carries on.
 */
import type { Connection, FrameHandler } from '../network/index.js';
import type { Logger } from '../logging.js';
import { ErrorCode } from '../protocol/errors.js';
import { apiByKey, ApiKey } from '../protocol/messages/api-table.js';
import type { ApiVersionsResponse } from '../protocol/messages/api-versions.js';
import { decodeRequestHeader, encodeResponseHeader, responseHeaderVersion } from '../protocol/messages/headers.js';
import { Reader, Writer } from '../protocol/primitives.js';
import type { HandlerRegistry, RequestContext } from './handler-registry.js';

export class InvalidRequestError extends Error {
  override readonly name = 'InvalidRequestError';
}

export interface DispatcherOptions {
  registry: HandlerRegistry;
  logger: Logger;
  /** Called with every request before its handler runs (fault injection, metrics). */
  onRequest?: (apiKey: number, apiVersion: number, connection: Connection) => void | Promise<void>;
}

export function createRequestDispatcher(options: DispatcherOptions): FrameHandler {
  const { registry, logger } = options;

  return async function dispatch(frame: Buffer, connection: Connection): Promise<Buffer[] | null> {
    const reader = new Reader(frame);
    const header = decodeRequestHeader(reader);
    const { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId } = header;
    const handler = registry.get(apiKey);
    if (!handler || header.headerVersion === null) {
      throw new InvalidRequestError(`unknown or unsupported API key ${apiKey} (client ${header.clientId ?? '-'})`);
    }
    if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      if (apiKey === ApiKey.ApiVersions) {
        return encodeResponse(apiKey, 0, correlationId, unsupportedApiVersionsResponse(registry));
      }
      const name = apiByKey(apiKey)?.name ?? String(apiKey);
      throw new InvalidRequestError(
        `${name} v${apiVersion} is not supported (supported: v${handler.minVersion}-v${handler.maxVersion})`,
      );
    }
    const request = apiByKey(apiKey)!.decodeRequest(reader, apiVersion);
    await options.onRequest?.(apiKey, apiVersion, connection);
    const context: RequestContext = { apiVersion, correlationId, clientId: header.clientId ?? null, connection };
    const response = await handler.handle(request as never, context);
    if (response === null) return null;
    logger.debug('request handled', { apiKey, apiVersion, correlationId, connection: connection.id });
    return encodeResponse(apiKey, apiVersion, correlationId, response);
  };
}

function encodeResponse(apiKey: number, apiVersion: number, correlationId: number, body: unknown): Buffer[] {
  const writer = new Writer(1024);
  encodeResponseHeader(writer, { correlationId }, responseHeaderVersion(apiKey, apiVersion));
  apiByKey(apiKey)!.encodeResponse(writer, body, apiVersion);
  return writer.toChunks();
}

/** Version 0 of ApiVersions, sent when a client asks with a version we do not know. */
function unsupportedApiVersionsResponse(registry: HandlerRegistry): ApiVersionsResponse {
  return {
    errorCode: ErrorCode.UNSUPPORTED_VERSION,
    apiKeys: registry.supportedVersions().map((v) => ({ apiKey: v.apiKey, minVersion: v.minVersion, maxVersion: v.maxVersion })),
  };
}
