// Every bound and default of the protocol, once. Schemas, the gateway, the collector, the client
// and the dashboard import these; a number written twice is a number that drifts.

/** The gateway's listen port, as in the earlier system. */
export const DEFAULT_PORT = 3001;

/** Sampling intervals a target may have and a subscriber may ask for, in ms. */
export const INTERVAL_MIN_MS = 100;
export const INTERVAL_MAX_MS = 3_600_000;
/** Default sampling interval of a target, as in the earlier system. */
export const DEFAULT_INTERVAL_MS = 5000;

/** Most log lines one subscribe may ask for with `backfill`, and most one subscribe replays. */
export const BACKFILL_MAX = 10_000;

/** A log subscriber that names no level receives every line. */
export const DEFAULT_LOG_LEVEL = 'trace' as const;

/** Longest server id: what a room name, a Redis key and a REST path segment must carry. */
export const SERVER_ID_MAX_LENGTH = 128;

/** Longest log message kept, in UTF-8 bytes; longer ones are cut and marked. */
export const MAX_LOG_MESSAGE_BYTES = 16 * 1024;

/** Longest token accepted, in characters (a JWT with a few hundred globs fits easily). */
export const TOKEN_MAX_LENGTH = 8192;
/** Most server globs one token may carry. */
export const TOKEN_MAX_SERVER_GLOBS = 256;
/** How long before its expiry a socket is sent `token-expiring`. */
export const TOKEN_EXPIRY_WARNING_MS = 60_000;

// ---- alerts (alerts.ts) ----
/** Bound of the alerts stream (every firing and resolution, all servers). */
export const ALERTS_HISTORY_MAX_LEN = 10_000;
/** Most currently-firing alerts a subscriber or `GET /api/alerts?state=firing` is given. */
export const ALERTS_FIRING_MAX = 10_000;
/** Most alert rules per target (and as defaults). */
export const ALERT_RULES_MAX = 32;
/** Window and duration bounds of a rule, in ms. */
export const ALERT_WINDOW_MIN_MS = 100;
export const ALERT_WINDOW_MAX_MS = 86_400_000;
/** Largest `moreThan` of a counting rule (the evaluator keeps that many timestamps). */
export const ALERT_COUNT_MAX = 10_000;
/** Longest alert message. */
export const ALERT_MESSAGE_MAX_LENGTH = 500;
/** How long a server that is exited, stopped or stale is kept before it is removed with all its keys. */
export const DEFAULT_SERVER_RETENTION_MS = 24 * 3_600_000;
/** Bounds of the retention a gateway may be given (VIGIL_SERVER_RETENTION_MS). */
export const SERVER_RETENTION_MIN_MS = 1000;
export const SERVER_RETENTION_MAX_MS = 365 * 24 * 3_600_000;
/** How often the retention sweep runs at most and at least (it runs every retention / 10 between these). */
export const RETENTION_SWEEP_MIN_MS = 500;
export const RETENTION_SWEEP_MAX_MS = 60_000;
/** How long a stopping collector waits for Redis to take its servers' `stopped` status. */
export const STOP_STATUS_DEADLINE_MS = 2000;
/** Longest host name: a DNS name's bound; what a room name, a Redis key and a path segment carry. */
export const HOST_ID_MAX_LENGTH = 253;
/** Host metrics: how often a collector samples its host by default, in ms. */
export const DEFAULT_HOST_INTERVAL_MS = 5000;
/** Most CPU cores, network interfaces and mounts one host sample lists (the totals count all). */
export const HOST_MAX_CORES = 512;
export const HOST_MAX_INTERFACES = 32;
export const HOST_MAX_MOUNTS = 32;
/** Longest interface name and mount path a host sample carries. */
export const HOST_NAME_FIELD_MAX_LENGTH = 64;
export const HOST_MOUNT_PATH_MAX_LENGTH = 1024;
/** Most collectors listed per host, and most hosts `GET /api/hosts` lists. */
export const HOST_MAX_COLLECTORS = 64;
export const HOSTS_LIST_MAX = 1000;
/** Most host globs one token may carry. */
export const TOKEN_MAX_HOST_GLOBS = 256;
/** Fastest a target is sampled for its viewers unless its config sets `minIntervalMs` (down to INTERVAL_MIN_MS). */
export const DEFAULT_MIN_INTERVAL_MS = 1000;
/** How often a gateway writes its viewers' wanted intervals again (and a collector reads them). */
export const INTEREST_REFRESH_MS = 1000;
/** A gateway's recorded interest counts this long after its last write: a dead gateway stops counting after it. */
export const INTEREST_TTL_MS = 5000;
/**
 * How long a host's keys outlive its last sample (its history, latest, collectors, and its entry
 * in the host registry): a host no collector samples any more (a pod's name, on Kubernetes) is gone
 * after this, like a server after the retention.
 */
export const HOST_RETENTION_MS = 24 * 3_600_000;
