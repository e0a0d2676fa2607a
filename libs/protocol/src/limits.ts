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

/** Fastest a target is sampled for its viewers unless its config sets `minIntervalMs` (down to INTERVAL_MIN_MS). */
export const DEFAULT_MIN_INTERVAL_MS = 1000;
/** How often a gateway writes its viewers' wanted intervals again (and a collector reads them). */
export const INTEREST_REFRESH_MS = 1000;
/** A gateway's recorded interest counts this long after its last write: a dead gateway stops counting after it. */
export const INTEREST_TTL_MS = 5000;
