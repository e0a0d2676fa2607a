// The gateway's REST API as the dashboard uses it: the registry, metrics history and log history.
// Any gateway answers from Redis alone, so these work behind the balancer like the socket does.
import type { LogLevel, ProcessInfoEvent, ProcessLogsEvent, RegistryEntry, ServerStatus } from '@vigil/protocol';

/** A registry entry as `/api/servers` returns it: status computed (`stale`), latest sample attached. */
export type ServerView = RegistryEntry & {
  status: ServerStatus;
  lastHeartbeatAt: string | null;
  latest: ProcessInfoEvent | null;
};

export type MetricsPage = { serverId: string; items: ProcessInfoEvent[]; next: string | null };
export type LogsPage = { serverId: string; level: LogLevel; items: ProcessLogsEvent[]; next: string | null; gap?: boolean };

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

export class RestApi {
  readonly #base: string;

  constructor(base: string) {
    this.#base = base.replace(/\/+$/, '');
  }

  async servers(): Promise<ServerView[]> {
    const body = await this.#get<{ servers: ServerView[] }>('/api/servers');
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

  async #get<T>(path: string, query: Query = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    const qs = params.toString();
    const res = await fetch(`${this.#base}${path}${qs ? `?${qs}` : ''}`, { headers: { accept: 'application/json' } });
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
      throw new ApiError(res.status, error?.code ?? null, error?.message ?? `${res.status} ${res.statusText}`);
    }
    return body as T;
  }
}
