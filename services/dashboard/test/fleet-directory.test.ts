// The servers list's model with a stand-in fleet subscription: a filter the client could not apply
// now (offline, refused for a while) shows why, narrows the rows on the page meanwhile, and the
// snapshot of the client's next join ends both.
import t from 'tap';
import type { FleetChange, FleetFilter, FleetRow, FleetSource, FleetSubscription } from '../src/fleet-types.js';
import { waitFor } from '@vigil/testkit';

// The model announces changes once per frame; node has no frames.
(globalThis as { requestAnimationFrame?: (fn: () => void) => unknown }).requestAnimationFrame ??= (fn) => setTimeout(fn, 0);
const { FleetDirectory } = await import('../src/fleet-directory.js');

const row = (id: string): FleetRow => ({ id, host: 'h', collector: 'c', status: 'running', cpu: 1, rss: 1, uptime: 1, lastSeen: 1, position: '1-0' });

/** A subscription whose setFilter() answers are scripted and whose snapshots the test sends. */
function standIn(ids: string[]) {
  let rows = new Map(ids.map((id) => [id, row(id)]));
  let total = ids.length;
  let filter: FleetFilter | undefined;
  const listeners = new Set<(c: FleetChange) => void>();
  const answers: Array<{ resolve(): void; reject(err: Error): void }> = [];
  const sub: FleetSubscription = {
    get rows() {
      return rows;
    },
    get total() {
      return total;
    },
    ready: true,
    get filter() {
      return filter;
    },
    on: (_event, fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    setFilter: (f) => {
      filter = f;
      return new Promise<void>((resolve, reject) => answers.push({ resolve, reject }));
    },
    close: async () => {},
  };
  const snapshot = (next: string[], nextTotal: number) => {
    const removed = [...rows.keys()].filter((id) => !next.includes(id));
    rows = new Map(next.map((id) => [id, row(id)]));
    total = nextTotal;
    for (const fn of listeners) fn({ snapshot: true, changed: next, removed });
  };
  const source: FleetSource = { subscribeFleet: async () => sub };
  return { source, answers, snapshot };
}

t.test('a filter the client could not apply yet: an error meanwhile, cleared by the snapshot of its next join', async (t) => {
  const { source, answers, snapshot } = standIn(['db-1', 'web-1', 'web-2']);
  const list = new FleetDirectory(source);
  list.start();
  await waitFor(() => list.loaded && list.rows.length === 3);

  list.setFilter({ id: 'web' });
  t.same(list.rows.map((r) => r.id), ['web-1', 'web-2'], 'narrowed on the page at once');
  answers.shift()!.reject(Object.assign(new Error('not connected'), { code: 'VIGIL_ERR_CLIENT_DISCONNECTED' }));
  await waitFor(() => list.error !== null);
  t.match(list.error, /not connected/);

  // Reconnected: the client subscribes with the new filter; the gateway counts 40 (a page of it here).
  snapshot(['web-1', 'web-2'], 40);
  await waitFor(() => list.error === null, { message: 'the error went with the snapshot' });
  t.equal(list.total, 40, "the gateway's count, not the page's own");
  t.same(list.rows.map((r) => r.id), ['web-1', 'web-2']);
  list.stop();
});

t.test('a filter applied: the gateway’s rows and count at once', async (t) => {
  const { source, answers, snapshot } = standIn(['db-1', 'web-1']);
  const list = new FleetDirectory(source);
  list.start();
  await waitFor(() => list.loaded);
  list.setFilter({ id: 'web' });
  // As the client does: the snapshot replaced the rows, then setFilter() resolves.
  snapshot(['web-1', 'web-3'], 2);
  answers.shift()!.resolve();
  await waitFor(() => list.total === 2 && list.rows.length === 2);
  t.same(list.rows.map((r) => r.id), ['web-1', 'web-3']);
  t.equal(list.error, null);
  list.stop();
});
