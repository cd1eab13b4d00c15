/**
 * Structured logging. Every layer takes a `Logger` (message first, fields
 * second) and never builds its own, so an embedding application or a test
 * decides where logs go; the default writes JSON lines with pino.
 */
import { pino } from 'pino';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export function createLogger(options: { level?: LogLevel; name?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const base = pino(
    { name: options.name ?? 'ganglion', level: options.level ?? 'info', base: undefined },
    options.destination ?? pino.destination({ dest: 2, sync: false }),
  );
  return adapt(base);
}

function adapt(log: pino.Logger): Logger {
  return {
    debug: (message, fields) => log.debug(fields ?? {}, message),
    info: (message, fields) => log.info(fields ?? {}, message),
    warn: (message, fields) => log.warn(fields ?? {}, message),
    error: (message, fields) => log.error(fields ?? {}, message),
    child: (fields) => adapt(log.child(fields)),
  };
}

/** A logger that drops everything (tests, embedded use without logs). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
