// Least privilege in Redis, all real: a redis-server loads deploy/redis/users.acl (with passwords
// set by deploy/redis/acl-passwords.mjs), a gateway process and a collector process each connect
// as their own user and the whole path works; what each user must not do is refused.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AlertKeys,
  HostKeys,
  Keys,
  NAMESPACE,
  ServerEvents,
  alertsSeverityRoom,
  metricsRoom,
  sessionKey,
  systemMetricsRoom,
  type SystemMetricsBody,
  type AlertBody,
  type ProcessInfoEvent,
  type ProcessLogsEvent,
  type SystemMetricsEvent,
} from '@vigil/protocol';
import { AlertWriter, BatchWriter, HostWriter, ServerRemover, broadcastFrame, closeRedis, createRedis, keySlot, publishGuardKey } from '@vigil/store';
import { startRedis, startRedisCluster, waitFor } from '@vigil/testkit';
import { COLLECTOR_ENTRY, apiGet, client, collect, e2eToken, emitAck, spawnService, startGatewayProcess } from './helpers.js';

const repo = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const ADMIN = { user: 'vigil-test-admin', password: 'test-admin-only' };

/** The shipped ACL with fresh passwords, plus this test's all-powerful user (not in the shipped file). */
function aclFileIn(t: Test): { aclFile: string; passwords: Map<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-acl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const aclFile = join(dir, 'users.acl');
  const printed = execFileSync(process.execPath, [repo('deploy/redis/acl-passwords.mjs'), '--out', aclFile], { encoding: 'utf8' });
  const passwords = new Map(printed.trim().split('\n').map((l) => l.split(' ') as [string, string]));
  t.same([...passwords.keys()].sort(), ['vigil-collector', 'vigil-gateway'], 'a password for each service user');
  t.notMatch(readFileSync(aclFile, 'utf8'), new RegExp([...passwords.values()].join('|')), 'the ACL file holds hashes, not the passwords');
  writeFileSync(aclFile, `${readFileSync(aclFile, 'utf8').trimEnd()}\nuser ${ADMIN.user} on >${ADMIN.password} +@all ~* &*\n`);
  return { aclFile, passwords };
}

t.test('the gateway and the collector work end to end as their own Redis users, and no further', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-acl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { aclFile, passwords } = aclFileIn(t);

  const redis = await startRedis({ ...ADMIN, args: ['--aclfile', aclFile] });
  t.teardown(() => redis.close());
  const urlOf = (user: string) => redis.url.replace(/\/\/[^@]*@/, `//${user}:${passwords.get(user)}@`);
  const admin = createRedis(redis.url, 'command');
  t.teardown(() => closeRedis(admin));
  t.match(await redis.command('ACL', 'WHOAMI'), /vigil-test-admin/);
  const anonymous = createRedis(redis.url.replace(/\/\/[^@]*@/, '//'), 'command');
  t.teardown(() => closeRedis(anonymous));
  await t.rejects(anonymous.get(Keys.registry), /NOAUTH/, 'the default user is off: nothing without a password');

  // The gateway's readiness is a pub/sub round trip on its probe channel: ready = allowed.
  const gw = await startGatewayProcess(t, urlOf('vigil-gateway'));
  const script = join(dir, 'talker.js');
  writeFileSync(script, `setInterval(() => console.log('hello from the acl test'), 100);\n`);
  const collector = spawnService(
    t,
    COLLECTOR_ENTRY,
    ['--redis-url', urlOf('vigil-collector'), '--collector-id', 'acl', '--host', 'acl-host', '--interval', '250', '--command', `talker=${process.execPath} ${script}`],
    {},
  );
  await waitFor(
    async () => {
      if (collector.exited()) throw new Error(`collector exited: ${collector.output()}`);
      const body = (await (await apiGet(`${gw.url}/api/servers`)).json()) as { servers: Array<{ serverId: string }> };
      return body.servers.some((s) => s.serverId === 'talker');
    },
    { timeoutMs: 30_000, message: 'the collector’s server registered, read back by the gateway' },
  );

  const socket = await client(t, gw.url);
  const infos = collect<ProcessInfoEvent>(socket, ServerEvents.processInfo);
  const lines = collect<ProcessLogsEvent>(socket, ServerEvents.processLogs);
  t.match(await emitAck(socket, 'subscribe-server-metrics', { serverId: 'talker' }), { ok: true });
  t.match(await emitAck(socket, 'subscribe-server-logs', { serverId: 'talker', level: 'info' }), { ok: true });
  await waitFor(() => infos.filter((i) => i.serverId === 'talker').length >= 3, { timeoutMs: 15_000, message: 'live samples' });
  await waitFor(() => lines.some((l) => l.logData.message.includes('hello from the acl test')), { timeoutMs: 15_000, message: 'a live log line' });
  t.pass('samples and log lines reach a Socket.IO client');
  // Alerts: what fires now is read (HSCAN of the firing hash, history by XREVRANGE) by the gateway's user.
  t.match(await emitAck(socket, 'subscribe-alerts', {}), { ok: true }, 'subscribe-alerts reads what fires now');
  t.equal((await apiGet(`${gw.url}/api/alerts?state=all`)).status, 200, 'the alert history reads');
  // Host metrics too: written by the collector's user, read back and delivered by the gateway's.
  const opsToken = await e2eToken({ sub: 'acl-ops', vigil: { servers: ['*'], hosts: ['acl-host'] } });
  await waitFor(async () => (await apiGet(`${gw.url}/api/hosts/acl-host`, opsToken)).status === 200, { timeoutMs: 15_000, message: 'the host registered' });
  const opsSocket = await client(t, gw.url, opsToken);
  const hostSamples = collect<SystemMetricsEvent>(opsSocket, ServerEvents.systemMetricsUpdate);
  t.match(await emitAck(opsSocket, 'subscribe-system-metrics', { host: 'acl-host' }), { ok: true, latest: true });
  await waitFor(() => hostSamples.length >= 1, { timeoutMs: 15_000, message: 'a host sample' });
  t.equal((await apiGet(`${gw.url}/api/hosts/acl-host/metrics?limit=1`, opsToken)).status, 200, 'host history over REST');
  const sessions = await waitFor(async () => {
    const keys = (await admin.keys(sessionKey('*'))) as string[];
    return keys.length > 0 ? keys : null;
  }, { timeoutMs: 10_000, message: 'the client’s session saved by the gateway' });
  t.match(await admin.hgetall(sessions[0]!), { gw: /.+/, rooms: /"kind":"metrics","serverId":"talker"/ }, 'the session holds the client’s rooms');
  t.equal(gw.exited(), null, 'the gateway is still running');
  t.equal(collector.exited(), null, 'the collector is still running');

  // Nothing either service did along the way was refused (an ACL too tight fails here by name).
  const log = (await admin.call('ACL', 'LOG')) as unknown[][];
  const denied = log.map((e) => JSON.stringify(e)).filter((e) => /vigil-(gateway|collector)/.test(e));
  t.same(denied, [], 'no ACL denial for vigil-gateway or vigil-collector during the run');

  const as = (user: string) => {
    const c = createRedis(urlOf(user), 'command');
    t.teardown(() => closeRedis(c));
    return c;
  };
  const noperm = /NOPERM/;
  const collectorUser = as('vigil-collector');
  await t.rejects(collectorUser.hgetall(sessions[0]!), noperm, 'collector: may not read sessions');
  await t.rejects(collectorUser.get(Keys.latest('talker')), noperm, 'collector: may not read samples back');
  await t.rejects(collectorUser.call('KEYS', '*'), noperm, 'collector: KEYS refused');
  await t.rejects(collectorUser.flushall(), noperm, 'collector: FLUSHALL refused');
  await t.rejects(collectorUser.flushdb(), noperm, 'collector: FLUSHDB refused');
  await t.rejects(collectorUser.call('CONFIG', 'GET', 'maxmemory'), noperm, 'collector: CONFIG refused');
  await t.rejects(
    collectorUser.spublish('socket.io#/monitoring#', 'x'),
    noperm,
    'collector: may not publish on the adapter’s namespace channel (only room channels)',
  );

  const gatewayUser = as('vigil-gateway');
  await t.rejects(gatewayUser.xadd(Keys.metrics('talker'), '*', 'd', '{}'), noperm, 'gateway: may not write samples (XADD vigil:srv:*)');
  await t.rejects(gatewayUser.set(Keys.latest('talker'), '{}'), noperm, 'gateway: may not overwrite the latest sample');
  await t.rejects(gatewayUser.hset(Keys.registry, 'talker', '{}'), noperm, 'gateway: may not write the registry');
  await t.rejects(gatewayUser.set(HostKeys.latest('acl-host'), '{}'), noperm, 'gateway: may not write host samples');
  await t.rejects(gatewayUser.zadd(HostKeys.registry, 1, 'acl-host'), noperm, 'gateway: nor the host registry');
  await t.rejects(gatewayUser.flushall(), noperm, 'gateway: FLUSHALL refused');
  await t.rejects(gatewayUser.flushdb(), noperm, 'gateway: FLUSHDB refused');
  await t.rejects(gatewayUser.call('CONFIG', 'SET', 'maxmemory', '1'), noperm, 'gateway: CONFIG refused');
  await t.rejects(gatewayUser.call('KEYS', '*'), noperm, 'gateway: KEYS refused');
  t.ok(Number(await admin.xlen(Keys.metrics('talker'))) > 0, 'the samples are still there');

  // Removing a server (an admin's DELETE; the retention sweep runs the same compare-and-delete):
  // the gateway deletes the registry field, the heartbeat and the server's keys, and only that.
  await admin.call('ACL', 'LOG', 'RESET'); // the refusals above are logged, on purpose
  const adminToken = await e2eToken({ sub: 'acl-admin', vigil: { servers: ['*'], admin: true } });
  const removed = await fetch(`${gw.url}/api/servers/talker`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } });
  t.equal(removed.status, 200, `DELETE /api/servers/talker answers 200 (${removed.status === 200 ? 'removed' : await removed.text()})`);
  const afterRemoval = ((await admin.call('ACL', 'LOG')) as unknown[][]).map((e) => JSON.stringify(e)).filter((e) => /vigil-(gateway|collector)/.test(e));
  t.same(afterRemoval, [], 'no ACL denial for the removal either');
  await t.rejects(gatewayUser.hset(Keys.registry, 'talker', '{}'), noperm, 'gateway: still may not write the registry');
  await t.rejects(gatewayUser.zadd(Keys.heartbeats, 1, 'talker'), noperm, 'gateway: nor a heartbeat');
  await t.rejects(gatewayUser.call('DEL', HostKeys.latest('acl-host')), noperm, 'gateway: nor delete host data');
});

t.test('on a Redis Cluster the same users write, broadcast once (publish guards) and subscribe, and no further', async (t) => {
  const { aclFile, passwords } = aclFileIn(t);
  // Replicas sync as the admin user: the shipped file turns `default` off.
  const cluster = await startRedisCluster({
    ...ADMIN,
    masters: 3,
    replicasPerMaster: 1,
    args: ['--aclfile', aclFile, '--masteruser', ADMIN.user, '--masterauth', ADMIN.password],
  });
  t.teardown(() => cluster.close());
  const seed = cluster.nodes[0]!.address;
  const as = (user: string, role: 'command' | 'subscriber') => {
    const c = createRedis(`redis://${user}:${passwords.get(user)}@${seed}`, role, { clusterNodes: cluster.seeds });
    t.teardown(() => closeRedis(c));
    return c;
  };
  const collector = as('vigil-collector', 'command');
  const gateway = as('vigil-gateway', 'command');
  const subscriber = as('vigil-gateway', 'subscriber');

  const now = new Date().toISOString();
  const ids = Array.from({ length: 6 }, (_, i) => `acl-${i}`);
  const frames = ids.map((id) => broadcastFrame('acl', NAMESPACE, metricsRoom(id), ServerEvents.processInfo));
  const alert = (serverId: string, rule: string): AlertBody => ({ id: `${serverId}/${rule}`, rule, severity: 'critical', serverId, host: 'acl-host', state: 'firing', message: 'x', value: null, since: now, timestamp: now });
  const alertChannel = broadcastFrame('acl', NAMESPACE, alertsSeverityRoom(null, 'critical'), ServerEvents.alert).channel;
  const hostChannel = broadcastFrame('acl', NAMESPACE, systemMetricsRoom('acl-host'), ServerEvents.systemMetricsUpdate).channel;
  const heard = new Map<string, number>();
  subscriber.on('smessage', (channel: string) => heard.set(channel, (heard.get(channel) ?? 0) + 1));
  for (const channel of [...frames.map((f) => f.channel), alertChannel, hostChannel]) await subscriber.ssubscribe(channel);

  // The collector: a tick over servers on every master, a host sample, its rules' alerts.
  await new BatchWriter(collector).write({
    appends: ids.map((id, i) => ({ stream: Keys.metrics(id), maxLen: 100, latestKey: Keys.latest(id), body: JSON.stringify({ serverId: id }), frame: frames[i]! })),
    registry: ids.map((id) => ({ serverId: id, entry: '{}' })),
    heartbeats: ids.map((id) => ({ serverId: id, at: Date.now() })),
  });
  const hostSample = { host: 'acl-host', collectorId: 'acl' } as unknown as SystemMetricsBody; // the writer stores it as given
  t.match(await new HostWriter(collector, { uid: 'acl', maxLen: 100 }).write(hostSample, Date.now()), /^\d+-\d+$/, 'the collector writes a host sample');
  t.equal((await new AlertWriter(collector, 'acl').write([{ body: alert('acl-0', 'cpu') }]))[0] !== null, true, 'the collector fires an alert');
  // The gateway: a `stale` alert, guard judged from the heartbeats, broadcast through the guard keys.
  t.equal((await new AlertWriter(gateway, 'vigil-gateway:acl').write([{ body: alert('acl-1', 'stale') }]))[0] !== null, true, 'the gateway fires an alert');
  await waitFor(() => frames.every((f) => heard.get(f.channel) === 1) && heard.get(alertChannel) === 2 && heard.get(hostChannel) === 1, {
    timeoutMs: 15_000,
    message: 'each sample, host sample and alert broadcast once to the gateway’s sharded subscriber',
  });

  // The gateway removes servers: by an admin's DELETE, and by the retention sweep (compare-and-delete).
  const remover = new ServerRemover(gateway);
  t.equal(await remover.remove('acl-4'), true, 'the gateway removes a server');
  const trace = (await remover.traces()).find((s) => s.serverId === 'acl-5')!;
  t.equal(await remover.removeIfExpired(trace, Date.now() + 60_000), true, 'and one whose heartbeat is older than the cutoff');
  t.same([await gateway.exists(Keys.metrics('acl-4')), await gateway.exists(Keys.metrics('acl-5'))], [0, 0], 'their data is gone');

  const masters = new Set(await Promise.all(ids.map(async (id) => (await cluster.masterOfSlot(keySlot(Keys.metrics(id)))).address)));
  t.ok(masters.size > 1, `the servers' keys spread over ${masters.size} masters`);
  for (const node of cluster.nodes) {
    const log = await node.command('ACL', 'LOG');
    t.notMatch(log, /vigil-(gateway|collector)/, `${node.address}: no ACL denial for vigil-gateway or vigil-collector`);
  }

  const noperm = /NOPERM/;
  await t.rejects(collector.hget(AlertKeys.firing, 'acl-0/cpu'), noperm, 'collector: HGET only on the publish guards, not the firing alerts');
  await t.rejects(collector.hget(publishGuardKey(`socket.io#/#x#`), 'x'), noperm, 'collector: nor the guard of a channel it may not publish on');
  await t.rejects(gateway.hset(publishGuardKey(frames[0]!.channel), Keys.metrics('acl-0'), '9-9'), noperm, 'gateway: may not touch the guards of sample channels');
  await t.rejects(collector.call('CLUSTER', 'NODES'), noperm, 'collector: CLUSTER NODES refused (ioredis needs only SLOTS and INFO)');
  await t.rejects(gateway.call('CLUSTER', 'RESET'), noperm, 'gateway: CLUSTER RESET refused');
});
