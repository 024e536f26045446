import type { EventSink, LogLevel } from '../events/index.js';

export type PluginLog = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

/**
 * Turns a plugin's log lines into `log` events that name it, in the message (what a console shows)
 * and in `fields.plugin` (what a tool filters on). `name` is read per line: an isolated plugin's
 * own name is known only once it loaded.
 */
export function pluginLog(
  sink: EventSink,
  name: () => string,
  method: string,
  where: { readonly stage?: string | undefined; readonly host?: string | undefined },
): PluginLog {
  return (level, message, fields) =>
    sink.emit({
      type: 'log',
      ...(where.stage ? { stage: where.stage } : {}),
      ...(where.host ? { host: where.host } : {}),
      level,
      message: `${name()}: ${message}`,
      fields: { ...fields, plugin: name(), method },
    });
}
