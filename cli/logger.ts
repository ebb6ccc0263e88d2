import pino, { type Logger } from 'pino';

/**
 * One logger for the process. Secrets never reach the logs: authorization headers, passwords,
 * secrets and tokens are redacted wherever they appear in a logged object.
 */
export function createLogger(config: { level: string; name?: string }): Logger {
  return pino({
    name: config.name ?? 'anju',
    level: config.level,
    redact: {
      paths: [
        'req.headers.authorization', 'req.headers.cookie', 'headers.authorization',
        'password', 'secret', 'token', '*.password', '*.secret', '*.token',
      ],
      censor: '[redacted]',
    },
  });
}
