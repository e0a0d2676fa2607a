// The gateway's version (from its package.json) and vigil_build_info, the gauge of 1 whose labels
// say which vigil version runs on which Node.js (the collector exports the same series).
import { createRequire } from 'node:module';
import { Gauge, type Registry } from 'prom-client';

/** src/ and dist/ are both one level below package.json. */
export const GATEWAY_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export function registerBuildInfo(registry: Registry): void {
  const help = 'Always 1; the labels say which vigil version runs on which Node.js';
  new Gauge({ name: 'vigil_build_info', help, labelNames: ['version', 'node'], registers: [registry] }).set({ version: GATEWAY_VERSION, node: process.version }, 1);
}
