// The fleet summary's types as the dashboard uses them (libs/protocol and libs/client own them).
import type { FleetFilter, FleetSubscription } from '@vigil/client';

export type { FleetChange, FleetFilter, FleetRow, FleetSubscription } from '@vigil/client';

/** What the list needs of the client: VigilClient, or a stand-in in a test. */
export interface FleetSource {
  subscribeFleet(filter?: FleetFilter): Promise<FleetSubscription>;
}
