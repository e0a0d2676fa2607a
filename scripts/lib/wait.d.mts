// Types of scripts/lib/wait.mjs (imported by test/e2e/cluster.test.ts).
export declare class Aborted extends Error {
  constructor(reason: unknown);
}
export declare function sleep(ms: number, signal?: AbortSignal): Promise<void>;
export declare function waitFor<T>(
  probe: () => T | Promise<T>,
  o?: { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal; message?: string },
): Promise<NonNullable<T>>;
export declare function httpGet(url: string, timeoutMs?: number): Promise<{ status: number; body: unknown }>;
