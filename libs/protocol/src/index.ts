// The one place where vigil's wire protocol lives: event names, payload schemas,
// room names, Redis keys, positions and error codes. Everything else imports it.
export * from './events.js';
export * from './schemas.js';
export * from './rooms.js';
export * from './keys.js';
export * from './errors.js';
export * from './position.js';
export * from './validate.js';
