// Types of scripts/lib/ports.mjs (re-exported by @vigil/testkit).
export declare function freePort(host?: string): Promise<number>;
export declare function freePortsFrom(base: number, count: number, taken?: Set<number>): Promise<number[]>;
export declare function canBind(host: string): Promise<boolean>;
