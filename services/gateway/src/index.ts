// @vigil/gateway as a library: buildApp() and its option types. The executable is cli.ts.
export { buildApp } from './app.js';
export type { GatewayOptions, GatewaySettings } from './options.js';
export type { DrainOptions, DrainResult } from './drain.js';
