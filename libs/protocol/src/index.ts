// The one place where vigil's wire protocol lives: event names, bounds and defaults, payload and
// ack schemas, room names, Redis keys, positions and error codes. Everything else imports it.
// Small shared runtime helpers are at '@vigil/protocol/runtime'.
export * from './events.js';
export * from './limits.js';
export * from './schemas.js';
export * from './acks.js';
export * from './permissions.js';
export * from './rooms.js';
export * from './keys.js';
export * from './errors.js';
export * from './position.js';
export * from './validate.js';
export * from './alerts.js';
export * from './interval.js';
export * from './env.js';
export * from './ws.js';
export * from './fleet.js';
