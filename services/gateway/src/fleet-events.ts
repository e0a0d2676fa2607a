// The client events of the fleet summary, for both transports: `subscribe-fleet` and
// `unsubscribe-fleet`, answered by the gateway's FleetHub (fleet-subscriptions.ts). Apart from the
// hub so that the hub does not import the socket context that names it.
import { ClientEvents, NoPayload, SubscribeFleet, compile } from '@vigil/protocol';
import type { FleetHub } from './fleet-subscriptions.js';
import type { SocketContext } from './socket-context.js';

const subscribeV = compile(SubscribeFleet);
const unsubscribeV = compile(NoPayload);

export function registerFleetSubscriptions(ctx: SocketContext, hub: FleetHub): void {
  const { client } = ctx;
  ctx.on(ClientEvents.subscribeFleet, subscribeV, async (p) => ({ total: await hub.subscribe(client, p) }));
  ctx.on(ClientEvents.unsubscribeFleet, unsubscribeV, () => {
    hub.unsubscribe(client);
    return {};
  });
}
