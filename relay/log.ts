// One-line logs: "2026-11-25T13:00:00.000Z INFO  gossip  listening on 127.0.0.1:7001".
// Level from VOIDPHONE_LOG (debug|info|warn|error|silent), default info.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  child(name: string): Logger;
}

function envLevel(): LogLevel {
  const v = (globalThis.process?.env?.VOIDPHONE_LOG ?? 'info') as LogLevel;
  return v in ORDER ? v : 'info';
}

export function createLogger(name: string, level: LogLevel = envLevel()): Logger {
  const min = ORDER[level];
  const emit = (lvl: LogLevel, msg: string) => {
    if (ORDER[lvl] < min) return;
    const line = `${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${name.padEnd(8)} ${msg}\n`;
    process.stderr.write(line);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
    child: (sub) => createLogger(`${name}/${sub}`, level),
  };
}
