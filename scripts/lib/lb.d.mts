// Types of scripts/lib/lb.mjs (imported by test/e2e/cluster.test.ts).
import type { Agent } from 'node:http';

export declare function canBindLoopbackAliases(): Promise<boolean>;
export declare function gatewayConnections(metricsUrl: string): Promise<number | null>;
export declare function loopbackAddresses(count: number, from?: number): string[];
export declare function httpGetFrom(url: string, localAddress: string | undefined, timeoutMs?: number): Promise<{ status: number; body: unknown }>;
export declare function stickyAddresses(
  lbUrl: string,
  o: { wanted: string[]; perGateway?: number; candidates?: string[] },
): Promise<Map<string, string[]>>;
export declare function fromAddress(localAddress: string | undefined): { localAddress?: string; agent?: Agent };
