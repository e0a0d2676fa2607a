// The gateway's REST API as the dashboard uses it: the registry, metrics history and log history.
// Any gateway answers from Redis alone, so these work behind the balancer like the socket does.
// The token goes in the Authorization header, never in a URL; a 401 ends the sign-in.
// Shapes are the gateway's response schemas, from @vigil/protocol.
import { ErrorCodes, type HostDetail, type HostMetricsPage, type LogLevel, type LogsPage, type MetricsPage, type ServerList, type ServerView } from '@vigil/protocol';

export type { HostDetail, HostMetricsPage, LogsPage, MetricsPage, ServerView } from '@vigil/protocol';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string | null;
  constructor(status: number, code: string | null, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

type Query = Record<string, string | number | undefined>;

/** Where the token comes from, and who hears that the gateway refused it. */
export type RestAuth = {
  token(): string | null;
  /** A 401: the token is missing, refused or expired (`code` says which). */
  refused(code: string, message: string): void;
};

const noAuth: RestAuth = { token: () => null, refused() {} };

export class RestApi {
  readonly #base: string;
  readonly #auth: RestAuth;

  constructor(base: string, auth: RestAuth = noAuth) {
    this.#base = base.replace(/\/+$/, '');
    this.#auth = auth;
  }

  async servers(): Promise<ServerView[]> {
    const body = await this.#get<ServerList>('/api/servers');
    return body.servers;
  }

  /** The server, or null when no server of that id is registered. */
  async server(id: string): Promise<ServerView | null> {
    try {
      return await this.#get<ServerView>(`/api/servers/${encodeURIComponent(id)}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  }

  /** History, oldest first; with neither cursor, the newest `limit` samples. */
  metrics(id: string, query: { limit: number; before?: string; after?: string }): Promise<MetricsPage> {
    return this.#get(`/api/servers/${encodeURIComponent(id)}/metrics`, query);
  }

  /** Log history at `level` and above, oldest first; `before`: the page just older than a position. */
  logs(id: string, query: { limit: number; level: LogLevel; before?: string; since?: string }): Promise<LogsPage> {
    return this.#get(`/api/servers/${encodeURIComponent(id)}/logs`, query);
  }

  /** The host, or null when no collector sampled it (or the token may not see it: the gateway answers alike). */
  async host(host: string): Promise<HostDetail | null> {
    try {
      return await this.#get<HostDetail>(`/api/hosts/${encodeURIComponent(host)}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  }

  /** Host metrics history, oldest first; with neither cursor, the newest `limit` samples. */
  hostMetrics(host: string, query: { limit: number; before?: string; after?: string }): Promise<HostMetricsPage> {
    return this.#get(`/api/hosts/${encodeURIComponent(host)}/metrics`, query);
  }

  async #get<T>(path: string, query: Query = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    const qs = params.toString();
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = this.#auth.token();
    if (token !== null) headers['authorization'] = `Bearer ${token}`;
    const res = await fetch(`${this.#base}${path}${qs ? `?${qs}` : ''}`, { headers });
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
      const failure = new ApiError(res.status, error?.code ?? null, error?.message ?? `${res.status} ${res.statusText}`);
      if (res.status === 401) this.#auth.refused(failure.code ?? ErrorCodes.UNAUTHORIZED, failure.message);
      throw failure;
    }
    return body as T;
  }
}
