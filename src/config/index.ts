/**
 * The configuration layer: every broker and topic setting Ganglion supports,
 * declared once (name, type, Kafka default, meaning, validation), plus
 * server.properties parsing, the typed BrokerConfig, topic resolution and the
 * DescribeConfigs view. Import from here.
 */

export * from './definitions.js';
export * from './setting.js';
export * from './errors.js';
export * from './properties.js';
export * from './listeners.js';
export * from './describe.js';
export * from './broker-config.js';
export * from './topic-config.js';
