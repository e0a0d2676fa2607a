import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ErrorCodes,
  Keys,
  ProcessInfoEvent,
  SubscribeServerMetrics,
  comparePositions,
  compile,
  isPosition,
  logsRoom,
  metricsRoom,
  parseJson,
  parseRoom,
  positionTime,
} from '../src/index.js';

t.test('rooms keep the earlier system names and parse back', async (t) => {
  t.equal(metricsRoom('api-1'), 'server-metrics-api-1');
  t.equal(logsRoom('api-1'), 'server-logs-api-1');
  t.same(parseRoom('server-metrics-api-1'), { kind: 'metrics', serverId: 'api-1' });
  t.same(parseRoom('server-logs-db.2'), { kind: 'logs', serverId: 'db.2' });
  for (const bad of ['server-metrics-', 'server-metrics-a b', 'lobby', 'server-metrics-' + 'x'.repeat(200), 'server-metrics-../x']) {
    t.equal(parseRoom(bad), null, `${bad.slice(0, 30)} is not a room`);
  }
});

t.test('positions order like Redis stream ids', async (t) => {
  t.ok(comparePositions('1-0', '1-1') < 0);
  t.ok(comparePositions('2-0', '1-99') > 0);
  t.ok(comparePositions('10-0', '9-0') > 0, 'numeric, not lexical');
  t.equal(comparePositions('5-5', '5-5'), 0);
  t.equal(positionTime('1700000000000-3'), 1700000000000);
  t.ok(isPosition('1700000000000-0'));
  for (const bad of ['', '1', '1-', 'a-1', '1-1-1', 1, null]) t.notOk(isPosition(bad), `${String(bad)} is not a position`);
  t.throws(() => comparePositions('x', '1-0'));
});

t.test('keys put every per-server key in the server hash slot', async (t) => {
  for (const key of [Keys.latest('s1'), Keys.metrics('s1'), Keys.events('s1')]) t.match(key, /\{s1\}/);
});

t.test('validators explain what is wrong, where', async (t) => {
  const v = compile(SubscribeServerMetrics);
  t.equal(v.explain({ serverId: 'ok' }), null);
  t.match(v.explain({ serverId: 12 }), /serverId/);
  t.match(v.explain({ serverId: 'a', interval: 'x' }), /interval/);
  t.match(v.explain(undefined), /payload|Expected/);
  t.ok((v.explain({ serverId: 'x'.repeat(100_000) }) ?? '').length <= 300, 'explanations stay short');
  const e = compile(ProcessInfoEvent);
  t.ok(e.check({
    serverId: 's', position: '1-0', timestamp: 't',
    processInfo: { pid: 1, cpu: 0, uptime: 0, timestamp: 't', memory: { rss: 1, heapUsed: 0, heapTotal: 0, external: 0 } },
  }));
});

t.test('parseJson never throws and drops prototype keys', async (t) => {
  t.equal(parseJson('{'), undefined);
  const v = parseJson('{"a":1,"__proto__":{"x":1},"constructor":{"y":2}}') as Record<string, unknown>;
  t.same(Object.keys(v), ['a']);
  t.equal(({} as Record<string, unknown>).x, undefined);
});

t.test('every error code is documented in docs/errors.md', async (t) => {
  const doc = readFileSync(fileURLToPath(new URL('../../../docs/errors.md', import.meta.url)), 'utf8');
  for (const code of Object.values(ErrorCodes)) t.match(doc, `\`${code}\``, `${code} is documented`);
  const documented = [...doc.matchAll(/`(VIGIL_ERR_[A-Z_]+)`/g)].map((m) => m[1]);
  const known = new Set<string>(Object.values(ErrorCodes));
  for (const code of documented) t.ok(known.has(code!), `${code} in the docs exists in the registry`);
});

t.test('log rooms: one per level, a subscriber at L is in L and above', async (t) => {
  const { logsRoomsFrom, logsLevelRoom, meetsLevel, levelsFrom } = await import('../src/index.js');
  t.same(logsRoomsFrom('api', 'warn'), ['server-logs-api@warn', 'server-logs-api@error', 'server-logs-api@fatal']);
  t.equal(logsRoomsFrom('api', 'trace').length, 6);
  t.same(parseRoom(logsLevelRoom('db.2', 'error')), { kind: 'logs', serverId: 'db.2', level: 'error' });
  t.equal(parseRoom('server-logs-api@loud'), null, 'an unknown level is not a room');
  t.equal(parseRoom('server-logs-@warn'), null);
  t.ok(meetsLevel('error', 'warn'));
  t.notOk(meetsLevel('info', 'warn'));
  t.same(levelsFrom('fatal'), ['fatal']);
});
