// Resource counts a lifecycle test compares across start/stop cycles.
import { readdirSync } from 'node:fs';

export function countOpenFds(): number {
  return readdirSync('/proc/self/fd').length;
}

export function activeHandleCount(): number {
  const p = process as unknown as { _getActiveHandles?: () => unknown[] };
  return p._getActiveHandles ? p._getActiveHandles().length : 0;
}
