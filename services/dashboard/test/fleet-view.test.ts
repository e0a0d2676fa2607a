// The fleet list's sort, and its filter form as the gateway filter (the matching rule itself is
// libs/protocol's fleetMatcher, tested there).
import t from 'tap';
import type { FleetRow } from '../src/fleet-types.js';
import { FLEET_FILTER_TEXT_MAX } from '@vigil/protocol';
import { compareRows, filterFromForm, filterProblem, sameFilter, sortRows, toggleSort, EMPTY_FORM } from '../src/fleet-view.js';

function r(id: string, over: Partial<FleetRow> = {}): FleetRow {
  return { id, host: 'h1', collector: 'c1', status: 'running', cpu: 1, rss: 100, uptime: 10, lastSeen: 1, position: '1-0', ...over };
}

const fleet = [
  r('web-2', { host: 'h2', cpu: 50, rss: 300 }),
  r('web-10', { cpu: 5 }),
  r('db-1', { status: 'exited', cpu: 99 }),
  r('api-eu-1', { collector: 'c2', cpu: null }),
  r('web-1', { cpu: 50, status: 'stale' }),
];
const ids = (rows: FleetRow[]) => rows.map((x) => x.id);

t.test('sorting: by id in code-unit order, figures numerically, ties by id, not-running figures last', async (t) => {
  t.same(ids(sortRows(fleet, { key: 'id', dir: 'asc' })), ['api-eu-1', 'db-1', 'web-1', 'web-10', 'web-2']);
  t.same(ids(sortRows(fleet, { key: 'id', dir: 'desc' })), ['web-2', 'web-10', 'web-1', 'db-1', 'api-eu-1']);
  t.same(
    ids(sortRows(fleet, { key: 'cpu', dir: 'desc' })),
    ['web-1', 'web-2', 'web-10', 'api-eu-1', 'db-1'],
    'highest CPU first, ties by id; the exited db-1 (99 % was its last figure) and a row without a sample at the bottom',
  );
  t.same(ids(sortRows(fleet, { key: 'host', dir: 'asc' })), ['api-eu-1', 'db-1', 'web-1', 'web-10', 'web-2'], 'same host: by id');
  t.same(ids(sortRows(fleet, { key: 'status', dir: 'asc' })).slice(0, 1), ['db-1'], 'exited < running < stale');
  t.equal(compareRows(fleet[0]!, fleet[0]!, { key: 'rss', dir: 'asc' }), 0);
  t.same(ids(fleet), ['web-2', 'web-10', 'db-1', 'api-eu-1', 'web-1'], 'the input is left as it was');
});

t.test('a header click flips the direction of the current column, and starts figures high-first', async (t) => {
  t.same(toggleSort({ key: 'id', dir: 'asc' }, 'id'), { key: 'id', dir: 'desc' });
  t.same(toggleSort({ key: 'id', dir: 'desc' }, 'cpu'), { key: 'cpu', dir: 'desc' });
  t.same(toggleSort({ key: 'cpu', dir: 'desc' }, 'host'), { key: 'host', dir: 'asc' });
});

t.test('the filter form becomes the gateway filter: blank fields left out, text trimmed and bounded', async (t) => {
  t.same(filterFromForm(EMPTY_FORM), {});
  t.same(filterFromForm({ status: 'exited', host: ' h2 ', collector: '', id: 'web-*' }), { status: ['exited'], host: 'h2', id: 'web-*' });
  t.equal(filterFromForm({ ...EMPTY_FORM, id: 'x'.repeat(1000) }).id?.length, FLEET_FILTER_TEXT_MAX);
  t.ok(sameFilter({ id: 'a' }, { id: 'a' }));
  t.notOk(sameFilter({ id: 'a' }, { id: 'a', status: ['running'] }));
});

t.test('a filter the gateway would refuse is told at its field, before it is sent', async (t) => {
  t.equal(filterProblem({}), null);
  t.equal(filterProblem({ id: 'web-*-eu', host: 'h1.example', collector: 'c:1', status: ['running'] }), null, 'ids, host names, globs');
  t.equal(filterProblem({ id: 'web 1' })?.field, 'id', 'a space in the id');
  t.equal(filterProblem({ id: 'ok', host: 'a/b' })?.field, 'host', 'a slash in the host');
  t.equal(filterProblem({ collector: '<script>' })?.field, 'collector');
  t.equal(filterProblem({ id: '*'.repeat(20) })?.field, 'id', 'too many stars');
});
