// Per-unit costs from a capacity run's phases (capacity.ts): what one server-sample costs Redis,
// what a gateway receives from Redis, what a gateway's fleet view costs, what one fleet client costs
// a gateway, and Redis memory per server. Each fleet figure is the difference between two phases of
// the same stack, divided by what the later phase added (gateways with a view, clients, whole-fleet
// clients); a difference within the noise can come out negative, and is reported as measured.
import type { CapacityOptions, MemoryFigures, Phase, PhaseResult } from './capacity.js';

export type FleetClientCost = {
  /** Clients the phase added. */
  clients: number;
  /** Gateway CPU per client per second of subscription (µs/s). */
  gatewayUsPerClientSec: number | null;
  /** Bytes the gateways wrote per client per second (socket writes: frames to clients). */
  gatewayBytesPerClientSec: number | null;
  /** Socket.IO message bytes a client received per second, as counted by the clients. */
  clientBytesPerClientSec: number;
  /** fleet:update rows a client received per second (deltas; snapshots excluded). */
  rowsPerClientSec: number;
  messagesPerClientSec: number;
};

export type CapacityCosts = {
  samplesPerSec: number;
  /** All Redis processes' CPU per server-sample, µs (a cluster: masters and replicas), collectors alone (writes phase). */
  redisUsPerSample: number | null;
  /** Masters only (the single node is its own master). */
  redisMasterUsPerSample: number | null;
  /** The same with gateways and clients on (metrics phase): adds delivering to the gateways and the gateways' own reads. */
  redisUsPerSampleServing: number | null;
  /** Redis CPU the gateways add, per gateway (metrics − writes): their reads and the messages Redis sends them. */
  redisCoresPerGateway: number | null;
  /** Per gateway, metrics phase: bytes read per second (almost all from Redis), CPU cores. */
  gatewayReadBytesPerSec: number | null;
  gatewayCores: number | null;
  /** Messages a gateway receives from Redis per second: its distinct rooms × samples per second per server. */
  gatewayRedisMessagesPerSec: number;
  gatewayReadBytesPerMessage: number | null;
  /** Gateway CPU per process:info delivered, µs (metrics phase; it includes receiving from Redis). */
  gatewayUsPerDelivery: number | null;
  deliveriesPerSec: number;
  /** One gateway's fleet view (read once a second while anyone subscribes): fleet-view − metrics, per gateway. */
  fleetView: { gatewayCores: number | null; redisCores: number | null; readBytesPerSec: number | null };
  fleetFiltered: FleetClientCost;
  fleetWhole: FleetClientCost;
  /** (used_memory − connection buffers) growth ÷ servers: masters summed; with replicas. */
  memoryBytesPerServer: number | null;
  memoryBytesPerServerWithReplicas: number | null;
};

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);

function phaseOf(phases: PhaseResult[], phase: Phase): PhaseResult {
  const p = phases.find((x) => x.phase === phase);
  if (!p) throw new Error(`capacity: no ${phase} phase`);
  return p;
}

function clientCost(before: PhaseResult, after: PhaseResult, clients: number): FleetClientCost {
  const per = (x: number | null, scale = 1) => (x === null || clients <= 0 ? null : round((x * scale) / clients));
  return {
    clients,
    gatewayUsPerClientSec: per(diff(before.gateways.cores, after.gateways.cores), 1e6),
    gatewayBytesPerClientSec: per(diff(before.gateways.writtenBytesPerSec, after.gateways.writtenBytesPerSec)),
    clientBytesPerClientSec: per(after.clientBytesPerSec - before.clientBytesPerSec) ?? 0,
    rowsPerClientSec: per(after.fleetRowsPerSec - before.fleetRowsPerSec) ?? 0,
    messagesPerClientSec: round(clients > 0 ? (after.fleetMessagesPerSec - before.fleetMessagesPerSec) / clients : 0, 2),
  };
}

export function deriveCosts(
  o: CapacityOptions,
  phases: PhaseResult[],
  memory: MemoryFigures[],
  fleet: { viewSubscribers: number; filtered: number; whole: number },
  gatewayRooms: number,
): CapacityCosts {
  const w = phaseOf(phases, 'writes');
  const m = phaseOf(phases, 'metrics');
  const view = phaseOf(phases, 'fleet-view');
  const filtered = phaseOf(phases, 'fleet-filtered');
  const whole = phaseOf(phases, 'fleet-whole');
  const perSample = (cores: number | null, p = w) => (cores === null || p.samplesPerSec <= 0 ? null : round((cores * 1e6) / p.samplesPerSec, 2));
  const perGateway = (x: number | null, d = 3) => (x === null ? null : round(x / o.gateways, d));
  const messages = (gatewayRooms * 1000) / o.intervalMs / o.gateways;
  const readPerGateway = perGateway(m.gateways.readBytesPerSec, 0);
  const masters = memory.filter((n) => n.role === 'master');
  const grown = (nodes: MemoryFigures[]) => nodes.reduce((a, n) => a + (n.after - n.clientsAfter) - (n.baseline - n.clientsBaseline), 0);
  return {
    samplesPerSec: m.samplesPerSec,
    redisUsPerSample: perSample(w.redis.cores),
    redisMasterUsPerSample: perSample(w.redis.masterCores),
    redisUsPerSampleServing: perSample(m.redis.cores, m),
    redisCoresPerGateway: perGateway(diff(w.redis.cores, m.redis.cores)),
    gatewayReadBytesPerSec: readPerGateway,
    gatewayCores: perGateway(m.gateways.cores),
    gatewayRedisMessagesPerSec: round(messages),
    gatewayReadBytesPerMessage: readPerGateway === null || messages <= 0 ? null : Math.round(readPerGateway / messages),
    gatewayUsPerDelivery: m.gateways.cores === null || m.deliveriesPerSec <= 0 ? null : round((m.gateways.cores * 1e6) / m.deliveriesPerSec),
    deliveriesPerSec: m.deliveriesPerSec,
    fleetView: {
      gatewayCores: perGateway(diff(m.gateways.cores, view.gateways.cores)),
      redisCores: perGateway(diff(m.redis.cores, view.redis.cores)),
      readBytesPerSec: perGateway(diff(m.gateways.readBytesPerSec, view.gateways.readBytesPerSec), 0),
    },
    fleetFiltered: clientCost(view, filtered, fleet.filtered - fleet.viewSubscribers),
    fleetWhole: clientCost(filtered, whole, fleet.whole),
    memoryBytesPerServer: o.servers > 0 ? Math.round(grown(masters) / o.servers) : null,
    memoryBytesPerServerWithReplicas: o.servers > 0 ? Math.round(grown(memory) / o.servers) : null,
  };
}
