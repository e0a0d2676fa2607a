// Types of scripts/lib/wait.mjs (re-exported by @vigil/testkit; imported by test/e2e/cluster.test.ts).
import type { EventEmitter } from 'node:events';

export type WaitOptions = {
  /** Default 10 000 ms. */
  timeoutMs?: number;
  /** Default 25 ms. */
  intervalMs?: number;
  signal?: AbortSignal;
  /** What is awaited, for the timeout's message. */
  message?: string;
};
export declare class Aborted extends Error {
  constructor(reason: unknown);
}
export declare function sleep(ms: number, signal?: AbortSignal): Promise<void>;
export declare function waitFor<T>(probe: () => T | Promise<T>, options?: WaitOptions): Promise<NonNullable<T>>;
export declare function eventually(fn: () => void | Promise<void>, options?: WaitOptions): Promise<void>;
export declare function once<T = unknown>(emitter: Pick<EventEmitter, 'once' | 'off'>, event: string, timeoutMs?: number): Promise<T>;
export declare function httpGet(url: string, timeoutMs?: number, headers?: Record<string, string>): Promise<{ status: number; body: unknown }>;
