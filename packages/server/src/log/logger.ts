/**
 * The server's pino logger: JSON lines (for log collectors), or pino-pretty's lines for people
 * (`pretty`, or `auto` with a terminal on stdout, as under `npm start`). Connection and request
 * ids are bindings of child loggers (connection-log.ts; fastify binds `reqId`).
 */
import { pino, type Logger, type LoggerOptions as PinoOptions } from 'pino';
import { PinoPretty } from 'pino-pretty';
import type { LogFormat, LoggerOptions } from '../options.js';

export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty', 'auto'];

/** True when `format` means pino-pretty here (`auto`: stdout is a terminal). */
export function isPretty(format: LogFormat = 'json', stdoutIsTty = process.stdout.isTTY === true): boolean {
  return format === 'pretty' || (format === 'auto' && stdoutIsTty);
}

export function makeLogger(options: boolean | LoggerOptions, base?: PinoOptions['base']): Logger {
  if (options === false) return pino({ level: 'silent' });
  const { level, format } = options === true ? { level: 'info', format: 'json' as const } : options;
  if (format !== undefined && !LOG_FORMATS.includes(format))
    throw new TypeError(`logger.format must be json, pretty or auto, got ${String(format)}`);
  const settings: PinoOptions = { level, ...(base !== undefined ? { base } : {}) };
  if (!isPretty(format)) return pino(settings);
  return pino(settings, PinoPretty({ destination: 1, sync: true, colorize: process.stdout.isTTY === true }));
}
