/**
 * Ganglion's library entry point.
 *
 *   import { startBroker } from 'ganglion';
 *   const broker = await startBroker({ port: 0, logDir: '/tmp/ganglion' });
 *   // ... clients use broker.bootstrapServers ...
 *   await broker.close();
 */
export { startBroker, type RunningBroker, type StartBrokerOptions } from './broker/broker.js';
export { loadBrokerConfig, buildBrokerConfig, BrokerConfig, ConfigError } from './config/index.js';
export { createLogger, silentLogger, type Logger, type LogLevel } from './logging.js';
export { Reader, Writer, ZERO_UUID, type Uuid } from './protocol/primitives.js';
export { ProtocolError } from './protocol/protocol-error.js';
export { ErrorCode, KafkaError, errorByCode } from './protocol/errors.js';
export * as records from './protocol/records/index.js';
export * as messages from './protocol/messages/index.js';
