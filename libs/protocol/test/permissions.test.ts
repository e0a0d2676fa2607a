import t from 'tap';
import { ALLOW_ALL, VigilClaim, compile, globMatcher, permissionsOf } from '../src/index.js';

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
