// Test harness shared by every package: real redis-server processes on free ports, and
// waiting on conditions with a deadline instead of sleeping.
export { startRedis, type RedisProcess } from './redis-process.js';
export { freePort } from './ports.js';
export { waitFor, eventually, once, type WaitOptions } from './wait.js';
export { countOpenFds, activeHandleCount } from './resources.js';
export { startTcpBalancer, type TcpBalancer } from './tcp-balancer.js';
