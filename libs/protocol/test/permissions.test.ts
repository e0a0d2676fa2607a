import t from 'tap';
import { ALLOW_ALL, VigilClaim, compile, globMatcher, parseRoom, parseSystemMetricsRoom, permissionsOf, systemMetricsRoom } from '../src/index.js';

t.test('globs match whole ids; * is the only wildcard', async (t) => {
  const can = globMatcher(['web-*', 'db-1']);
  t.ok(can('web-1'));
  t.ok(can('web-'));
  t.ok(can('db-1'));
  t.notOk(can('db-10'), 'an exact id is not a prefix');
  t.notOk(can('xweb-1'), 'anchored at the start');
  t.notOk(globMatcher(['a.b'])('aXb'), 'a dot is a dot');
  t.notOk(globMatcher([])('web-1'), 'no globs: nothing');
  t.ok(globMatcher(['*'])('anything'));
});

t.test('a claim becomes permissions; logs and admin default to false', async (t) => {
  const p = permissionsOf('alice', { servers: ['web-*'] }, 1000);
  t.equal(p.subject, 'alice');
  t.equal(p.logs, false);
  t.equal(p.admin, false);
  t.ok(p.canSee('web-2'));
  t.notOk(p.canSee('db-1'));
  t.ok(ALLOW_ALL.canSee('db-1'));
  const check = compile(VigilClaim);
  t.equal(check.explain({ servers: ['web-*'], logs: true }), null);
  t.not(check.explain({ servers: ['web/*'] }), null, 'a glob with a character no id has');
  t.not(check.explain({ servers: 'web-*' }), null, 'servers is a list');
  t.not(check.explain({ servers: [], root: true }), null, 'no unknown fields');
});

t.test('hosts: none by default, the hosts globs otherwise, every host for admin and with auth off', async (t) => {
  t.notOk(permissionsOf('a', { servers: ['*'] }, 1000).canSeeHost('box-1'), 'seeing every server does not mean seeing hosts');
  const p = permissionsOf('a', { servers: [], hosts: ['box-*'] }, 1000);
  t.ok(p.canSeeHost('box-1'));
  t.notOk(p.canSeeHost('db-1'));
  t.ok(permissionsOf('root', { servers: [], admin: true }, 1000).canSeeHost('db-1'), 'admin sees every host');
  t.ok(ALLOW_ALL.canSeeHost('db-1'));
  const check = compile(VigilClaim);
  t.equal(check.explain({ servers: [], hosts: ['box-*', 'db.example.com'] }), null);
  t.not(check.explain({ servers: [], hosts: 'box-*' }), null, 'hosts is a list');
  t.not(check.explain({ servers: [], hosts: ['a b'] }), null, 'of globs');
});

t.test('host rooms: system-metrics-<host>, parsed back only for a valid host', async (t) => {
  t.equal(systemMetricsRoom('box-1.example.com'), 'system-metrics-box-1.example.com');
  t.equal(parseSystemMetricsRoom('system-metrics-box-1.example.com'), 'box-1.example.com');
  t.equal(parseSystemMetricsRoom('system-metrics-'), null);
  t.equal(parseSystemMetricsRoom('system-metrics-a b'), null);
  t.equal(parseSystemMetricsRoom('server-metrics-box'), null);
  t.equal(parseRoom('system-metrics-box'), null, 'not a server room');
});
