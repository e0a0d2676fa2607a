// @vigil/gateway as a library: buildApp() and its option types. The executable is cli.ts.
export { buildApp } from './app.js';
export type { GatewayOptions, GatewaySettings } from './options.js';
export type { DrainOptions, DrainResult } from './drain.js';
// Minting tokens the gateway accepts (tools, other packages' tests) and the auth option's type.
export { mintToken, secretKey, type SigningKey, type TokenClaims } from './auth/mint.js';
export type { AuthSettings } from './auth/auth-config.js';
