// Dashboard stand-ins for bench/soak.ts, in their own process: clients that connect through the
// balancer, subscribe to one server's metrics and one server's logs, live a while and leave, at a
// steady rate, so that the cluster always holds about `population` of them. Four kinds in turn:
// raw socket.io-client over WebSocket (re-subscribes on every connect), raw over long polling
// (same), seed-style raw (WebSocket then polling, subscribes once, on its first connect, like the
// earlier dashboard) and libs/client clients. Each comes from a loopback address of its own
// (nginx is sticky by address), and every count is bounded (maxClients, the parent's deadline).
import { io as connect, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { createVigilClient } from '@vigil/client';
import { ClientEvents, NAMESPACE, ServerEvents } from '@vigil/protocol';
import { fromAddress } from '../scripts/lib/lb.mjs';
import { onParentMessage, tellParent } from './lib/children.js';

export type ChurnPlan = {
  lb: string;
  token: string | null;
  metricServers: string[];
  logServers: string[];
  addresses: string[];
  population: number;
  lifetimeMs: [number, number];
  maxClients: number;
};

const KINDS = ['ws', 'polling', 'seed', 'library'] as const;
type Kind = (typeof KINDS)[number];
type Live = { kind: Kind; closeAt: number; samples: number; logs: number; connects: number; close(): void };
type KindCounts = { opened: number; closed: number; closedWithoutSample: number; connectErrors: number; subscribeErrors: number; reconnects: number };

const live = new Set<Live>();
const byKind = Object.fromEntries(KINDS.map((k) => [k, { opened: 0, closed: 0, closedWithoutSample: 0, connectErrors: 0, subscribeErrors: 0, reconnects: 0 }])) as Record<Kind, KindCounts>;
/** Why subscriptions were refused or failed: error code (or 'timeout') → count. */
const refusals: Record<string, number> = {};
const refused = (kind: Kind, code: string) => {
  byKind[kind].subscribeErrors++;
  refusals[code] = (refusals[code] ?? 0) + 1;
};
let opened = 0;
let samples = 0;
let logLines = 0;
let timer: NodeJS.Timeout | null = null;

/**
 * Closes a client, then its http.Agent a second later: destroyed at once, the agent would still open
 * the socket for long polling's final "close" request and keep it alive, one leaked socket (and one
 * at nginx) per polling client that leaves.
 */
function closeThenDestroy(close: () => void, agent: { destroy(): void } | undefined): () => void {
  return () => {
    close();
    if (agent) setTimeout(() => agent.destroy(), 1000).unref();
  };
}

function rawClient(plan: ChurnPlan, kind: Exclude<Kind, 'library'>, address: string, metrics: string, logs: string, c: Live): () => void {
  const net = fromAddress(address);
  const transports = kind === 'ws' ? ['websocket'] : kind === 'polling' ? ['polling'] : ['websocket', 'polling'];
  const socket: Socket = connect(`${plan.lb}${NAMESPACE}`, {
    transports,
    forceNew: true,
    reconnection: true,
    timeout: 20_000,
    ...(plan.token ? { auth: { token: plan.token } } : {}),
    ...net,
  } as Partial<ManagerOptions & SocketOptions>);
  const subscribe = () => {
    for (const [event, serverId] of [[ClientEvents.subscribeServerMetrics, metrics], [ClientEvents.subscribeServerLogs, logs]] as const) {
      socket
        .timeout(20_000)
        .emitWithAck(event, { serverId })
        .then((ack: { ok?: boolean; error?: { code?: string } }) => {
          if (!ack?.ok) refused(kind, `${event}: ${ack?.error?.code ?? 'refused'}`);
        })
        .catch(() => refused(kind, `${event}: no ack within 20 s`));
    }
  };
  socket.on('connect', () => {
    if (c.connects++ > 0) byKind[kind].reconnects++;
    // Seed-style: subscribes once; afterwards the gateway restores its rooms from its session.
    if (kind !== 'seed' || c.connects === 1) subscribe();
  });
  socket.on('connect_error', () => byKind[kind].connectErrors++);
  socket.on(ServerEvents.processInfo, () => (c.samples++, samples++));
  socket.on(ServerEvents.processLogs, () => (c.logs++, logLines++));
  return closeThenDestroy(() => socket.close(), net.agent);
}

function libraryClient(plan: ChurnPlan, address: string, metrics: string, logs: string, c: Live): () => void {
  const net = fromAddress(address);
  const client = createVigilClient({
    url: plan.lb,
    network: null,
    ...(plan.token ? { token: plan.token } : {}),
    io: (uri, options) => {
      const socket = connect(uri, { ...options, ...net } as Partial<ManagerOptions & SocketOptions>);
      socket.on('connect', () => {
        if (c.connects++ > 0) byKind.library.reconnects++;
      });
      socket.on('connect_error', () => byKind.library.connectErrors++);
      return socket;
    },
  });
  const failed = (what: string) => (err: { code?: string }) => refused('library', `${what}: ${err?.code ?? 'failed'}`);
  client.subscribeMetrics(metrics, { onSample: () => (c.samples++, samples++) }).catch(failed('subscribeMetrics'));
  client.subscribeLogs(logs, { onLine: () => (c.logs++, logLines++) }).catch(failed('subscribeLogs'));
  return closeThenDestroy(() => client.close(), net.agent);
}

function open(plan: ChurnPlan, now: number): void {
  const i = opened++;
  const kind = KINDS[i % KINDS.length]!;
  const [lo, hi] = plan.lifetimeMs;
  const c: Live = { kind, closeAt: now + lo + Math.random() * (hi - lo), samples: 0, logs: 0, connects: 0, close: () => {} };
  const address = plan.addresses[i % plan.addresses.length]!;
  const metrics = plan.metricServers[i % plan.metricServers.length]!;
  const logs = plan.logServers[i % plan.logServers.length]!;
  c.close = kind === 'library' ? libraryClient(plan, address, metrics, logs, c) : rawClient(plan, kind, address, metrics, logs, c);
  byKind[kind].opened++;
  live.add(c);
}

function close(c: Live): void {
  c.close();
  live.delete(c);
  byKind[c.kind].closed++;
  if (c.samples === 0) byKind[c.kind].closedWithoutSample++;
}

function start(plan: ChurnPlan): void {
  const meanLifeS = (plan.lifetimeMs[0] + plan.lifetimeMs[1]) / 2000;
  const perS = plan.population / meanLifeS;
  const TICK_MS = 250;
  let credit = plan.population; // the first population arrives at once, then the steady rate
  timer = setInterval(() => {
    const now = Date.now();
    for (const c of [...live]) if (c.closeAt <= now) close(c);
    credit = Math.min(credit + (perS * TICK_MS) / 1000, plan.population);
    while (credit >= 1 && live.size < plan.population && opened < plan.maxClients) {
      open(plan, now);
      credit--;
    }
  }, TICK_MS);
}

const report = () => ({
  type: 'report',
  opened,
  live: live.size,
  connectedNow: [...live].filter((c) => c.connects > 0).length,
  samples,
  logLines,
  byKind,
  refusals,
  rssBytes: process.memoryUsage().rss,
});

onParentMessage(
  (m) => {
    if (m.type === 'start') start(m.plan as ChurnPlan);
    else if (m.type === 'report') tellParent(report());
  },
  async () => {
    if (timer) clearInterval(timer);
    for (const c of [...live]) close(c);
  },
);
tellParent({ type: 'ready' });
