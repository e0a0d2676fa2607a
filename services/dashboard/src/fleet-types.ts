// The fleet summary's types as the dashboard uses them (FLEET-CONTRACT: libs/protocol and
// libs/client own them; this file stands in until they land, then only re-exports).
import type { ServerStatus } from '@vigil/protocol';

export type FleetFilter = { status?: ServerStatus[]; host?: string; collector?: string; id?: string };

export type FleetRow = {
  id: string;
  host: string;
  collector: string;
  status: ServerStatus;
  cpu: number | null;
  rss: number | null;
  uptime: number | null;
  lastSeen: number | null;
  position: string | null;
};

export type FleetChange = { snapshot: boolean; changed: string[]; removed: string[] };

export interface FleetSubscription {
  readonly rows: ReadonlyMap<string, FleetRow>;
  readonly total: number;
  readonly ready: boolean;
  on(event: 'update', fn: (change: FleetChange) => void): () => void;
  setFilter(filter?: FleetFilter): Promise<void>;
  close(): Promise<void>;
}

export interface FleetSource {
  subscribeFleet(filter?: FleetFilter): Promise<FleetSubscription>;
}
