// Redis key layout. Per-server keys share the hash tag `{<serverId>}` so that they live on
// one slot if the deployment ever moves to Redis Cluster.
export const KEY_PREFIX = 'vigil:';

export const Keys = {
  /** HASH serverId → JSON registry entry. */
  registry: `${KEY_PREFIX}registry`,
  /** ZSET serverId → epoch ms of the last heartbeat. */
  heartbeats: `${KEY_PREFIX}heartbeats`,
  /** STRING: latest `process:info` payload, position included. */
  latest: (serverId: string) => `${KEY_PREFIX}srv:{${serverId}}:latest`,
  /** STREAM of `process:info` payloads; the entry id is the position. */
  metrics: (serverId: string) => `${KEY_PREFIX}srv:{${serverId}}:metrics`,
  /** STREAM of `process:logs` payloads (all levels); the entry id is the position. */
  logs: (serverId: string) => `${KEY_PREFIX}srv:{${serverId}}:logs`,
  /** STREAM of `server-status-changed` payloads. */
  events: (serverId: string) => `${KEY_PREFIX}srv:{${serverId}}:events`,
} as const;

/** HASH: a client's subscriptions, so another gateway can give them back after a reconnect. */
export const sessionKey = (sessionId: string) => `${KEY_PREFIX}session:{${sessionId}}`;

/** STRING: Redis time (ms) at which a gateway last said it was alive. */
export const gatewayAliveKey = (gatewayId: string) => `${KEY_PREFIX}gw:{${gatewayId}}:alive`;

/** Stream field that holds the JSON body of an entry. */
export const STREAM_FIELD = 'd';

/** Channel prefix the Socket.IO Redis adapter uses (its default). */
export const ADAPTER_CHANNEL_PREFIX = 'socket.io';

/** Channel on which a gateway checks that its own pub/sub round trip works. */
export const probeChannel = (gatewayId: string) => `${KEY_PREFIX}probe#${gatewayId}#`;

/** Alert keys share the hash tag `{vigil-alerts}` (one slot under Redis Cluster). */
export const AlertKeys = {
  /** STREAM of AlertEvent bodies, every server, bounded by ALERTS_HISTORY_MAX_LEN; the entry id is the position. */
  stream: `${KEY_PREFIX}{vigil-alerts}:stream`,
  /** HASH alert id → JSON AlertEvent of each alert firing now. */
  firing: `${KEY_PREFIX}{vigil-alerts}:firing`,
} as const;

/** Consumer group of the alerts stream through which gateways share webhook deliveries. */
export const ALERT_WEBHOOK_GROUP = 'vigil-webhook';

/**
 * Every key that holds one server's own data (the registry field and the heartbeat member aside).
 * Removing a server (libs/store server-removal.ts) deletes exactly these: a new per-server key
 * belongs in this list, or it outlives its server.
 */
export const serverDataKeys = (serverId: string): string[] => [
  Keys.latest(serverId),
  Keys.metrics(serverId),
  Keys.logs(serverId),
  Keys.events(serverId),
];
// ---- host metrics: per-host keys share the hash tag `{host:<host>}` -----------------------
export const HostKeys = {
  /** ZSET host → epoch ms at which a collector last wrote a sample of it: the host registry. */
  registry: `${KEY_PREFIX}hosts`,
  /** HASH collectorId → epoch ms of that collector's last sample of the host. */
  collectors: (host: string) => `${KEY_PREFIX}host:{host:${host}}:collectors`,
  /** STRING: latest `system-metrics-update` payload, position included. */
  latest: (host: string) => `${KEY_PREFIX}host:{host:${host}}:latest`,
  /** STREAM of `system-metrics-update` payloads; the entry id is the position. */
  metrics: (host: string) => `${KEY_PREFIX}host:{host:${host}}:metrics`,
} as const;
/**
 * HASH of what viewers want from one collector's targets, written by gateways, read by that collector
 * once a second in one call: field `<serverId> <gatewayId>` (a server id has no space), value
 * `<intervalMs>:<expiresAtMs>` in Redis time (Redis 7.0 has no per-field expiry). One key per
 * collector, hash-tagged `{<collectorId>}`, so on Redis Cluster the collector's read stays one slot.
 */
export const interestKey = (collectorId: string) => `${KEY_PREFIX}collector:{${collectorId}}:interest`;
/** The field of `interestKey` for one server as seen by one gateway. */
export const interestField = (serverId: string, gatewayId: string) => `${serverId} ${gatewayId}`;
