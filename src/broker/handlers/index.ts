/** Every API family this broker serves; ApiVersions advertises exactly these. */
import type { HandlerRegistry } from '../handler-registry.js';
import type { BrokerServices } from '../services.js';
import { createApiVersionsHandler } from './api-versions.js';
import { createFetchHandler } from './fetch.js';
import { createListOffsetsHandler } from './list-offsets.js';
import { createMetadataHandler } from './metadata.js';
import { createProduceHandler } from './produce.js';

export function registerHandlers(registry: HandlerRegistry, services: BrokerServices): void {
  registry.register(
    createApiVersionsHandler(services),
    createMetadataHandler(services),
    createProduceHandler(services),
    createFetchHandler(services),
    createListOffsetsHandler(services),
  );
}
