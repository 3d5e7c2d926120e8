// The pino logger shared by the server (through fastify) and the trainer: JSON lines with ISO
// times, and credentials redacted wherever they could appear.
import { pino, type Logger, type DestinationStream } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Creates a logger writing to `destination` (stdout by default). */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: ['req.headers.authorization', 'headers.authorization', '*.adminToken'],
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

export type { Logger };
