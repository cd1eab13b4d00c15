/** The network layer: listeners, framing, connections. Knows nothing of topics. */
export {
  SocketServer,
  ListenerBindError,
  DEFAULT_CONNECTIONS_MAX_IDLE_MS,
  DEFAULT_MAX_IN_FLIGHT_BYTES_PER_CONNECTION,
  DEFAULT_MAX_QUEUED_REQUESTS_PER_CONNECTION,
  DEFAULT_STOP_GRACE_MS,
  DEFAULT_WRITE_HIGH_WATER_MARK_BYTES,
  type SocketServerOptions,
} from './socket-server.js';
export { FrameDecoder, framePrefix, MAX_FRAME_BYTES_LIMIT, type FrameDecoderOptions } from './frame-decoder.js';
export {
  noopLogger,
  type BoundListener,
  type Connection,
  type FrameHandler,
  type ListenerConfig,
  type LogFields,
  type Logger,
} from './types.js';
