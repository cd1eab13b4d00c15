/**
 * The one error type the protocol layer throws when bytes do not decode
 * (truncated, lengths that overrun the frame, invalid varints, unknown
 * versions). Decoders of untrusted input throw nothing else, so callers can
 * answer or close the connection without guessing what went wrong.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}
