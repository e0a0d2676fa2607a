// Test harness shared by every package: real redis-server processes on free ports, and
// waiting on conditions with a deadline instead of sleeping.
export { startRedis, type RedisProcess, type StartRedisOptions } from './redis-process.js';
// Ports and waiting have one implementation, the plain JS that `npm start` also runs (typed by its .d.mts).
export { freePort } from '../../../scripts/lib/ports.mjs';
export { waitFor, eventually, once, type WaitOptions } from '../../../scripts/lib/wait.mjs';
export { stopProcess, hasExited } from './process.js';
export { countOpenFds, activeHandleCount } from './resources.js';
export { startTcpBalancer, type TcpBalancer } from './tcp-balancer.js';
export { selfSignedCertificate } from './tls-cert.js';
export { startRedisCluster, type RedisCluster, type ClusterNode, type StartClusterOptions } from './redis-cluster.js';
export { startTestRedis, REDIS_KINDS, type RedisKind, type TestRedis } from './test-redis.js';
