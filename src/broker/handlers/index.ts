/** Every API family this broker serves; ApiVersions advertises exactly these. */
import type { HandlerRegistry } from '../handler-registry.js';
import type { BrokerServices } from '../services.js';
import { createApiVersionsHandler } from './api-versions.js';
import { createDescribeClusterHandler, createDescribeLogDirsHandler, createDescribeTopicPartitionsHandler } from './cluster.js';
import { createAlterConfigsHandler, createDescribeConfigsHandler, createIncrementalAlterConfigsHandler } from './configs.js';
import { createDeleteRecordsHandler } from './delete-records.js';
import { createFetchHandler } from './fetch.js';
import { createFindCoordinatorHandler, createGroupCoordinatorLookup } from './find-coordinator.js';
import { createGroupHandlers } from './groups.js';
import { createInitProducerIdHandler } from './init-producer-id.js';
import { createListOffsetsHandler } from './list-offsets.js';
import { createMetadataHandler } from './metadata.js';
import { createOffsetHandlers } from './offsets.js';
import { createOffsetForLeaderEpochHandler } from './offset-for-leader-epoch.js';
import { createProduceHandler } from './produce.js';
import { createTransactionHandlers, transactionCoordinatorLookup, transactionalInit } from './transactions.js';
import { createCreatePartitionsHandler, createCreateTopicsHandler, createDeleteTopicsHandler } from './topics-admin.js';

export function registerHandlers(registry: HandlerRegistry, services: BrokerServices): void {
  registry.register(
    createApiVersionsHandler(services),
    createMetadataHandler(services),
    createProduceHandler(services),
    createFetchHandler(services),
    createOffsetForLeaderEpochHandler(services),
    createListOffsetsHandler(services),
    createCreateTopicsHandler(services),
    createDeleteTopicsHandler(services),
    createCreatePartitionsHandler(services),
    createDescribeConfigsHandler(services),
    createAlterConfigsHandler(services),
    createIncrementalAlterConfigsHandler(services),
    createDeleteRecordsHandler(services),
    createDescribeClusterHandler(services),
    createDescribeLogDirsHandler(services),
    createDescribeTopicPartitionsHandler(services),
    createFindCoordinatorHandler(services, transactionCoordinatorLookup(services, createGroupCoordinatorLookup(services))),
    ...createGroupHandlers(services),
    ...createOffsetHandlers(services),
    createInitProducerIdHandler(services, transactionalInit(services)),
    ...createTransactionHandlers(services),
  );
}
