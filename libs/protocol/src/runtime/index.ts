// Small runtime helpers every package shares (browser-safe: no Node.js modules).
export * from './token-bucket.js';
export * from './in-order.js';
export * from './timeout.js';
