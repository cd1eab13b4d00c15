/**
 * ApiVersions v0-4: the versions this broker serves, computed from the handler
 * registry so it can never advertise an API no handler honours. Requests of a
 * newer version than we know are answered by the dispatcher (v0 with
 * UNSUPPORTED_VERSION). No feature flags are advertised (no KRaft features).
 */
import { ApiKey } from '../../protocol/messages/api-table.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineHandler } from '../handler-registry.js';
import type { BrokerServices } from '../services.js';

export function createApiVersionsHandler(services: BrokerServices) {
  return defineHandler({
    apiKey: ApiKey.ApiVersions,
    minVersion: 0,
    maxVersion: 4,
    handle: () => ({
      errorCode: ErrorCode.NONE,
      apiKeys: services.registry.supportedVersions(),
      throttleTimeMs: 0,
    }),
  });
}
