// Event names of the Socket.IO namespace `/monitoring`, kept identical to the earlier system.
export const NAMESPACE = '/monitoring';

export const ClientEvents = {
  subscribeServerMetrics: 'subscribe-server-metrics',
  unsubscribeServerMetrics: 'unsubscribe-server-metrics',
  subscribeServerLogs: 'subscribe-server-logs',
  unsubscribeServerLogs: 'unsubscribe-server-logs',
  unsubscribe: 'unsubscribe',
  getConnectionStatus: 'get-connection-status',
  ping: 'ping',
  /** `{ token }`: a fresh token before the current one expires; rooms it no longer allows are left. */
  refreshToken: 'refresh-token',
  /** `{ serverId?, severity? }`: the alerts firing now, then each change as `alert` (alerts.ts). */
  subscribeAlerts: 'subscribe-alerts',
  /** `{ serverId? }`: leaves the alert rooms of that scope. */
  unsubscribeAlerts: 'unsubscribe-alerts',
  /** `{ host, interval? }`: join `system-metrics-<host>`; the latest host sample is sent at once. */
  subscribeSystemMetrics: 'subscribe-system-metrics',
  unsubscribeSystemMetrics: 'unsubscribe-system-metrics',
  /** `{ filter? }`: the fleet summary, a snapshot then deltas as `fleet:update` (fleet.ts). */
  subscribeFleet: 'subscribe-fleet',
  unsubscribeFleet: 'unsubscribe-fleet',
} as const;

export const ServerEvents = {
  connectionEstablished: 'connection-established',
  subscriptionConfirmed: 'subscription-confirmed',
  unsubscriptionConfirmed: 'unsubscription-confirmed',
  connectionStatus: 'connection-status',
  processInfo: 'process:info',
  processLogs: 'process:logs',
  serverStatusChanged: 'server-status-changed',
  /**
   * `{ serverIds, reason, timestamp }`: the gateway's pub/sub link to Redis was down; lines may
   * have been stored without reaching this client live. A client that re-joins by itself
   * subscribes again from its last position; for other clients the gateway replays in place.
   */
  resyncRequired: 'resync-required',
  pong: 'pong',
  /** `{ expiresAt }`: the socket's token expires soon; send `refresh-token` before then. */
  tokenExpiring: 'token-expiring',
  /** `{ code, message }`: sent just before the gateway ends a connection for a reason of its own. */
  disconnectReason: 'disconnect-reason',
  /** An alert firing or resolving (AlertEvent of alerts.ts). */
  alert: 'alert',
  /** `{ serverId, reason, timestamp }`: the server was removed (admin delete or retention); sent to its metrics and log rooms. */
  serverRemoved: 'server-removed',
  /** `{ host, data, timestamp, position }`: one sample of a host (CPU, load, memory, network, mounts). */
  systemMetricsUpdate: 'system-metrics-update',
  /** `{ snapshot, complete, rows, removed, total, timestamp }`: fleet summary rows (fleet.ts). */
  fleetUpdate: 'fleet:update',
} as const;
