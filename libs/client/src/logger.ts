// The logger the client writes to: a type of its own so every module can name it without a circle.
/** pino-compatible (`logger.warn({ ...data }, 'message')`); console needs a small adapter. */
export type ClientLogger = {
  debug(data: Record<string, unknown>, message: string): void;
  warn(data: Record<string, unknown>, message: string): void;
  error(data: Record<string, unknown>, message: string): void;
};
