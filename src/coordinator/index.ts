/** The group coordinator and the __consumer_offsets records it keeps. */
export * from './group-coordinator.js';
export * from './group.js';
export * from './offsets-topic-records.js';
export * from './partition-for.js';
export * from './types.js';
