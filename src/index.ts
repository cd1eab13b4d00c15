/** Ganglion's library entry point. */
export { Reader, Writer, ZERO_UUID, type Uuid } from './protocol/primitives.js';
export { ProtocolError } from './protocol/protocol-error.js';
