/**
 * The registry of API handlers. Each API family registers the versions it
 * fully serves; ApiVersions is computed from this registry, so the broker can
 * never advertise a version no handler honours.
 */
import type { Connection } from '../network/index.js';
import type { ApiKey, ApiRequest, ApiResponse } from '../protocol/messages/api-table.js';

export interface RequestContext {
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly connection: Connection;
}

export interface ApiHandler<K extends ApiKey = ApiKey> {
  readonly apiKey: K;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** Returns the response, or null when the request gets none (acks=0 produce). */
  handle(request: ApiRequest<K>, context: RequestContext): Promise<ApiResponse<K> | null> | ApiResponse<K> | null;
}

/** Helper that keeps the request/response types tied to the API key. */
export function defineHandler<K extends ApiKey>(handler: ApiHandler<K>): ApiHandler<K> {
  return handler;
}

export interface SupportedVersions {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

export class HandlerRegistry {
  private readonly handlers = new Map<number, ApiHandler>();

  register(...handlers: ApiHandler<any>[]): this {
    for (const handler of handlers) {
      if (this.handlers.has(handler.apiKey)) throw new Error(`API key ${handler.apiKey} registered twice`);
      this.handlers.set(handler.apiKey, handler as ApiHandler);
    }
    return this;
  }

  get(apiKey: number): ApiHandler | undefined {
    return this.handlers.get(apiKey);
  }

  supportedVersions(): SupportedVersions[] {
    return [...this.handlers.values()]
      .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }
}
