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
