// The fleet filter (what matches, what is refused) and the REST cursor.
import t from 'tap';
import {
  FleetFilter,
  ServerCursorBody,
  SubscribeFleet,
  ServersQuery,
  compile,
  cursorText,
  encodeServerCursor,
  filterOfQuery,
  fleetMatcher,
  isEmptyFleetFilter,
  parseJson,
} from '../src/index.js';

const row = (id: string, over: Partial<{ host: string; collector: string; status: 'running' | 'stale' | 'exited' }> = {}) => ({
  id,
  host: 'h1',
  collector: 'c1',
  status: 'running' as const,
  ...over,
});

t.test('the filter: id prefix or glob, host and collector equal or glob, status in a set, all ANDed', async (t) => {
  t.ok(fleetMatcher(undefined)(row('a')), 'no filter matches');
  t.ok(isEmptyFleetFilter({}) && isEmptyFleetFilter(undefined) && !isEmptyFleetFilter({ id: 'a' }));
  const byPrefix = fleetMatcher({ id: 'web-' });
  t.ok(byPrefix(row('web-1')));
  t.notOk(byPrefix(row('api-web-1')), 'a prefix, not a substring');
  const byGlob = fleetMatcher({ id: '*-eu-*' });
  t.ok(byGlob(row('web-eu-1')));
  t.notOk(byGlob(row('web-us-1')));
  t.notOk(fleetMatcher({ id: 'web*1' })(row('web-12')), 'a glob is anchored at both ends');
  t.ok(fleetMatcher({ id: 'web*1' })(row('web-1')));
  t.notOk(fleetMatcher({ id: 'a*a*a' })(row('aa')), 'parts do not overlap');
  t.ok(fleetMatcher({ id: 'a*a*a' })(row('aaa')));
  t.ok(fleetMatcher({ id: 'w*.*' })(row('w.x')), 'a dot is not special');
  t.notOk(fleetMatcher({ id: 'w.*' })(row('wx1')));
  t.ok(fleetMatcher({ host: 'h1' })(row('a')));
  t.notOk(fleetMatcher({ host: 'h' })(row('a')), 'host is equal, not a prefix');
  t.ok(fleetMatcher({ host: 'h*' })(row('a')));
  t.notOk(fleetMatcher({ collector: 'c2' })(row('a')));
  const both = fleetMatcher({ status: ['stale', 'exited'], host: 'h1', id: 'db' });
  t.ok(both(row('db-1', { status: 'stale' })));
  t.notOk(both(row('db-1')), 'status ANDed');
  t.notOk(both(row('db-1', { status: 'stale', host: 'h2' })), 'host ANDed');
});

t.test('bad filters are refused by the schema', async (t) => {
  const check = compile(SubscribeFleet);
  t.ok(check.check(undefined) && check.check({}) && check.check({ filter: { id: 'web-*', status: ['running'] } }));
  const bad: unknown[] = [
    { filter: { id: '' } },
    { filter: { id: 'a b' } },
    { filter: { id: 'x'.repeat(129) } },
    { filter: { id: '*'.repeat(9) } },
    { filter: { status: ['nope'] } },
    { filter: { status: [] } },
    { filter: { status: ['running', 'running'] } },
    { filter: { host: 'h', extra: 1 } },
    { filter: { host: 'a'.repeat(256) } },
    { filter: { id: 'a(b' } },
    { filter: 'web' },
    { other: 1 },
  ];
  for (const payload of bad) t.notOk(check.check(payload), JSON.stringify(payload).slice(0, 60));
  t.ok(compile(FleetFilter).check({ id: '*'.repeat(8) }), 'eight stars are fine');
});

t.test('cursors: round trip, and garbage is not a cursor', async (t) => {
  const body = compile(ServerCursorBody);
  for (const cursor of [
    { sort: 'id' as const, order: 'asc' as const, key: 'web-1', id: 'web-1' },
    { sort: 'cpu' as const, order: 'desc' as const, key: 12.5, id: 'a' },
    { sort: 'lastSeen' as const, order: 'asc' as const, key: null, id: 'b.c:d' },
  ]) {
    const text = encodeServerCursor(cursor);
    t.match(text, /^[A-Za-z0-9_-]+$/, 'base64url');
    t.ok(compile(ServersQuery).check({ cursor: text }), 'a valid query value');
    const parsed = parseJson(cursorText(text) ?? '');
    t.ok(body.check(parsed));
    t.same(parsed, { s: cursor.sort, o: cursor.order, k: cursor.key, i: cursor.id });
  }
  t.equal(cursorText('A'), null, 'impossible length');
  t.notOk(body.check(parseJson(cursorText('abcd') ?? '')), 'decodes to nothing sensible');
  t.same(filterOfQuery({ status: 'running,stale,running', id: 'w' }), { status: ['running', 'stale'], id: 'w' });
  t.notOk(compile(ServersQuery).check({ status: 'running,,stale' }));
  t.notOk(compile(ServersQuery).check({ sort: 'memory' }));
});
