// @vigil/client: a typed browser and Node client for vigil gateways. Subscriptions survive
// reconnects (to the same gateway or another), events are ordered and de-duplicated by position,
// and logs resume after the last line delivered.
export { createVigilClient, VigilClient, type VigilClientEvents } from './client.js';
export type { VigilClientOptions, ReconnectionOptions, ClientLogger, IoFactory } from './options.js';
export type { ConnectionState, ConnectionStateName, OfflineReason, GatewayRefusal } from './connection.js';
export type { TokenSource } from './token.js';
export type { NetworkStatus } from './network.js';
export type { Subscription, MetricsSubscription, LogsSubscription, AlertsSubscription } from './subscription.js';
export type { AlertsOptions } from './alerts-subscription.js';
export type { MetricsOptions } from './metrics-subscription.js';
export type { SystemMetricsOptions, SystemMetricsSubscription } from './system-metrics-subscription.js';
export type { FleetChange, FleetOptions, FleetSubscription } from './fleet-subscription.js';
export { MAX_REPLAY_ROUNDS, type LogsOptions, type GapInfo } from './logs-subscription.js';
export { ClientErrorCodes, VigilClientError, type ClientErrorCode, type VigilErrorCode } from './errors.js';
export type { AlertEvent, AlertSeverity, LogLevel, ProcessInfoEvent, ProcessLogsEvent, ServerRemoved, StatusChangeEvent, TokenRefreshed } from '@vigil/protocol';
export type { HostMetrics, HostView, SystemMetricsEvent } from '@vigil/protocol';
export type { FleetFilter, FleetRow, FleetUpdate, ServerPage, ServerSort, SortOrder } from '@vigil/protocol';
