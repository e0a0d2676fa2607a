// What every event handler of one connected client shares.
import type { TSchema } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { AckEvent, Validator } from '@vigil/protocol';
import type { InOrder } from '@vigil/protocol/runtime';
import type { AlertStore, HostStore, LogStore, ServerStore } from '@vigil/store';
import type { ClientActivity } from './client-activity.js';
import type { Client } from './client.js';
import { handleEvent, type Handler } from './event-handler.js';
import type { Verifier } from './auth/verifier.js';
import type { GatewayInterest } from './interest.js';
import type { FleetHub } from './fleet-subscriptions.js';
import type { StaleSweeper } from './stale-sweeper.js';

/** What a client's handlers need of the sessions module (sessions/client-sessions.ts). */
export type SessionKeeper = {
  /** Writes the client's subscriptions through to its session. */
  save(client: Client): void;
  /** The client left a server's room itself: a restore under way must not join it again. */
  withdraw(client: Client, kind: 'metrics' | 'logs', serverId: string): void;
  /** A client is connected: restores its session, and forgets it when it says goodbye. */
  connected(ctx: SocketContext): void;
};

export type MonitoringDeps = {
  store: ServerStore;
  logs: LogStore;
  /** Host metrics: the host registry and each host's latest sample. */
  hosts: HostStore;
  logger: Logger;
  sessions: SessionKeeper;
  limits: { maxRooms: number; perSecond: number; burst: number };
  /** Resolves once every subscription this gateway has asked Redis for is in effect. */
  syncSubscriptions(): Promise<void>;
  /** Verifies a refreshed token; `warningMs` before expiry a socket is sent `token-expiring`. */
  auth: { verifier: Verifier; warningMs: number };
  /** Counts an event answered with an error. */
  onReject?(code: string): void;
  /** Whether a collector has registered this server (subscribing to others is refused). */
  isRegistered?(serverId: string): Promise<boolean>;
  /** Log replays take turns through this, one page at a time gateway-wide. */
  replays: InOrder;
  /** What fires now, for `subscribe-alerts` (alert-subscriptions.ts). */
  alerts?: AlertStore;
  /** Records the sampling interval each client asks (interest.ts); absent: asks are only answered. */
  interest?: Pick<GatewayInterest, 'ask'>;
  /** The fleet summary's subscribers (fleet-subscriptions.ts); absent: `subscribe-fleet` is unknown. */
  fleet?: FleetHub;
  /**
   * Who tells a room that its server went stale (stale-sweeper.ts). A subscriber that finds a server
   * stale hands it over, so that the room hears `stale` once, whichever of the two saw it first.
   */
  staleness?: Pick<StaleSweeper, 'announceStale'>;
};

export type SocketContext = {
  client: Client;
  log: Logger;
  deps: MonitoringDeps;
  /** Handles client event E: its handler returns E's reply, which becomes the ok ack. */
  on<E extends AckEvent, T extends TSchema>(event: E, v: Validator<T>, h: Handler<E, T>): void;
  /** Writes this client's subscriptions through to its session. */
  saveSession(): void;
};

export function socketContext(client: Client, activity: ClientActivity, log: Logger, deps: MonitoringDeps): SocketContext {
  return {
    client,
    log,
    deps,
    on: (event, v, h) => handleEvent(client, activity, log, event, v, h, deps.onReject),
    saveSession: () => deps.sessions.save(client),
  };
}
