// Who may see what: the `vigil` claim of a token and the one rule that reads it. The gateway
// checks it at every subscribe, on session restore, on refresh and on REST; the dashboard reads
// it to show who is signed in.
import { Type, type Static } from '@sinclair/typebox';
import { TOKEN_MAX_HOST_GLOBS, TOKEN_MAX_SERVER_GLOBS } from './limits.js';

/** A server glob: a server id in which `*` stands for any run of characters (`web-*`, `*`). */
export const ServerGlob = Type.String({ pattern: '^[A-Za-z0-9._:*-]{1,128}$' });

export const VigilClaim = Type.Object(
  {
    /** Globs on serverId; "*" for every server. */
    servers: Type.Array(ServerGlob, { maxItems: TOKEN_MAX_SERVER_GLOBS }),
    /** May read log lines (default false: logs carry secrets more often than metrics do). */
    logs: Type.Optional(Type.Boolean()),
    /** May administer (delete servers, …). */
    admin: Type.Optional(Type.Boolean()),
    /**
     * Globs on host names whose host metrics the token may see (default none: a host's load and
     * memory tell about every tenant on it). An admin token sees every host.
     */
    hosts: Type.Optional(Type.Array(ServerGlob, { maxItems: TOKEN_MAX_HOST_GLOBS })),
  },
  { additionalProperties: false },
);
export type VigilClaim = Static<typeof VigilClaim>;

/** What a verified token allows, ready to ask. */
export type Permissions = {
  readonly subject: string;
  readonly logs: boolean;
  readonly admin: boolean;
  /** Epoch ms at which the token stops being valid (Infinity without auth). */
  readonly expiresAt: number;
  canSee(serverId: string): boolean;
  /** May see every server (its globs include `*`): what the `alerts` room of all servers needs. */
  readonly seesAll?: boolean;
  /** May see the host metrics of `host` (the `hosts` globs, or admin). */
  canSeeHost(host: string): boolean;
};

/** One matcher for a list of globs: `*` matches any run of characters, nothing else is special. */
export function globMatcher(globs: readonly string[]): (id: string) => boolean {
  if (globs.includes('*')) return () => true;
  const exact = new Set(globs.filter((g) => !g.includes('*')));
  const patterns = globs
    .filter((g) => g.includes('*'))
    .map((g) => new RegExp(`^${g.split('*').map(escape).join('.*')}$`));
  return (id) => exact.has(id) || patterns.some((re) => re.test(id));
}

export function permissionsOf(subject: string, claim: VigilClaim, expiresAt: number): Permissions {
  const admin = claim.admin === true;
  const canSeeHost = admin ? () => true : globMatcher(claim.hosts ?? []);
  return { subject, logs: claim.logs === true, admin, expiresAt, canSee: globMatcher(claim.servers), seesAll: claim.servers.includes('*'), canSeeHost };
}

/** With auth off (`VIGIL_AUTH=none`): everything, never expiring. */
export const ALLOW_ALL: Permissions = { subject: 'anonymous', logs: true, admin: true, expiresAt: Infinity, canSee: () => true, seesAll: true, canSeeHost: () => true };

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
