// `vigil-gateway token`: mints a token from the gateway's own key configuration and prints it on
// stdout, so `TOKEN=$(vigil-gateway token --sub alice --servers 'web-*' --ttl 1h)` just works.
import { parseArgs } from 'node:util';
import { ErrorCodes, VigilError, type VigilClaim } from '@vigil/protocol';
import { AUTH_ENV } from './auth-config.js';
import { mintToken, signingFromEnv } from './mint.js';

/** Shortest and longest lifetime the command mints: there is no revocation, so a token lives at most this long. */
export const TTL_MIN_S = 10;
export const TTL_MAX_S = 30 * 86_400;
const DEFAULT_TTL = '1h';

export type CommandOutput = { write(s: string): void; error(s: string): void };

const USAGE = `Usage: vigil-gateway token --sub <subject> --servers <glob> [--servers <glob>…] [--hosts <glob>…] [--logs] [--admin] [--ttl <ttl>]

Prints a token the gateway accepts, signed with its key configuration:
  ${AUTH_ENV.secret} or ${AUTH_ENV.secretFile}   (HS256), or
  --private-key <file> or ${AUTH_ENV.privateKeyFile}   (RS256, ES256, EdDSA: PEM or private JWK)
and for ${AUTH_ENV.audience} (default vigil) and ${AUTH_ENV.issuer} (when set).

Options:
  --sub <subject>       who the token is for (required)
  --servers <glob>      server ids it may see; '*' stands for any run of characters ('web-*', '*').
                        Repeat, or separate with commas. Required.
  --hosts <glob>        host names whose host metrics it may see (default none; --admin sees all).
                        Repeat, or separate with commas.
  --logs                may read log lines (default: metrics only)
  --admin               may administer
  --ttl <ttl>           lifetime: 30s, 15m, 1h, 7d (default ${DEFAULT_TTL}; ${TTL_MIN_S}s to ${TTL_MAX_S / 86_400}d)
  --private-key <file>  sign with this private key instead of the secret
  --kid <id>            key id to put in the header (JWKS setups; a private JWK's own kid is used otherwise)
  -h, --help            this text
`;

export async function runTokenCommand(argv: string[], env: NodeJS.ProcessEnv, out: CommandOutput): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        sub: { type: 'string' },
        servers: { type: 'string', multiple: true },
        hosts: { type: 'string', multiple: true },
        logs: { type: 'boolean' },
        admin: { type: 'boolean' },
        ttl: { type: 'string' },
        'private-key': { type: 'string' },
        kid: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    return usageError(out, (err as Error).message.split('\n')[0]!);
  }
  if (values.help) {
    out.write(USAGE);
    return 0;
  }
  if (!values.sub) return usageError(out, '--sub is required');
  const servers = globList(values.servers);
  if (servers.length === 0) return usageError(out, "--servers is required (e.g. --servers 'web-*', or '*' for all)");
  const ttlSeconds = parseTtl(values.ttl ?? DEFAULT_TTL);
  if (typeof ttlSeconds === 'string') return usageError(out, ttlSeconds);
  const hosts = globList(values.hosts);
  const vigil: VigilClaim = { servers, ...(hosts.length > 0 ? { hosts } : {}), ...(values.logs ? { logs: true } : {}), ...(values.admin ? { admin: true } : {}) };
  try {
    const flags = { ...(values['private-key'] ? { privateKeyFile: values['private-key'] } : {}), ...(values.kid ? { kid: values.kid } : {}) };
    const { signing, audience, issuer } = await signingFromEnv(env, flags);
    const token = await mintToken(signing, { sub: values.sub, vigil, ttlSeconds, audience, ...(issuer !== undefined ? { issuer } : {}) });
    out.write(`${token}\n`);
    return 0;
  } catch (err) {
    if (err instanceof VigilError) {
      out.error(`vigil-gateway token: ${err.message} (${err.code})\n`);
      return 1;
    }
    out.error(`vigil-gateway token: ${(err as Error).message} (${ErrorCodes.INTERNAL})\n`);
    return 1;
  }
}

/** `30s`, `15m`, `1h`, `7d` → seconds, or a message saying what is wrong. */
export function parseTtl(text: string): number | string {
  const match = /^(\d{1,7})([smhd])$/.exec(text);
  if (!match) return `--ttl must look like 30s, 15m, 1h or 7d, got "${text.slice(0, 40)}"`;
  const seconds = Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as 's' | 'm' | 'h' | 'd'];
  if (seconds < TTL_MIN_S || seconds > TTL_MAX_S) return `--ttl must be between ${TTL_MIN_S}s and ${TTL_MAX_S / 86_400}d, got ${text}`;
  return seconds;
}

function usageError(out: CommandOutput, message: string): number {
  out.error(`vigil-gateway token: ${message} (${ErrorCodes.CONFIG_INVALID}); see --help\n`);
  return 2;
}

/** A repeatable glob option: repeated, or separated with commas. */
function globList(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
}
