// The shared Redis model: how both services connect, what they write, and how it is read back.
export { parseRedisUrl, parseClusterNodes, checkClusterTarget, createRedis, closeRedis, isCluster, type RedisRole, type RedisClusterNode, type CreateRedisHooks } from './connection.js';
export { redisTlsFromEnv, readRedisTls, REDIS_TLS_ENV, type RedisTls, type RedisTlsFiles } from './redis-tls.js';
export { adapterChannel, broadcastFrame, positionInFrame, positionMsInFrame, roomOfChannel, type BroadcastFrame, type FrameTemplate } from './adapter-wire.js';
export { BatchWriter, type AppendOp, type Batch, type WriteOptions } from './batch-writer.js';
export { ByteLines, bodyText, type EventBody } from './byte-lines.js';
export { ServerStore, isStale, type HistoryPage } from './server-store.js';
/** The REST shape of a registry entry; its schema is @vigil/protocol's. */
export type { ServerView } from '@vigil/protocol';
export { LogStore, type LogPage, type LogQuery } from './log-store.js';
export { AlertWriter, type AlertChange } from './alert-writer.js';
export { AlertStore, type AlertFilter, type AlertPage } from './alert-store.js';
export { ServerRemover, type ServerTrace } from './server-removal.js';
export { HostWriter, type HostWriterOptions } from './host-writer.js';
export { HostStore, type HostPage } from './host-store.js';
export { InterestStore, type InterestWrite } from './interest-store.js';
export { keySlot, hashTagOf } from './key-slot.js';
export { ShardPublisher, publishGuardKey, PUBLISH_GUARD_TTL_MS, PENDING_BROADCASTS_MAX, PENDING_BROADCAST_CHARS_MAX, type ShardMessage } from './shard-publisher.js';
export { FleetStore, FLEET_READ_BATCH, type FleetRecord, type LatestFigures } from './fleet-store.js';
