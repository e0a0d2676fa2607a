// What a local run starts, as a list of process specs in start order: Redis (unless one is
// given), N gateways, nginx as the load balancer in front of them, the demo processes, and two
// collectors that share the watching (each with its own collectorId, config and state
// directory; when the collector can follow log files, each ships its servers' log files as
// their logs). To add a process, add a spec here; the supervisor does the rest.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bearer, withoutAuth } from './auth.mjs';
import { nginxSpec } from './nginx.mjs';
import { redisSpec } from './redis.mjs';
import { httpGet } from './wait.mjs';

/**
 * Env vars that would override the collector's generated config (flags > env > file), REDIS_URL
 * too: it is VIGIL_REDIS_URL's generic fallback (GENERIC_ENV of @vigil/protocol; this file runs
 * before the build, so it cannot import it).
 */
const COLLECTOR_ENV_OVERRIDES = ['VIGIL_REDIS_URL', 'REDIS_URL', 'VIGIL_CONFIG', 'VIGIL_COLLECTOR_ID', 'VIGIL_HOST'];

const escapeRegex = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether the built collector follows log files (its --help lists --log-file). */
export function collectorFollowsLogFiles(root) {
  try {
    const help = execFileSync(process.execPath, [join(root, 'services/collector/dist/cli.js'), '--help'], { encoding: 'utf8', timeout: 10_000 });
    return help.includes('--log-file');
  } catch {
    return false;
  }
}

/**
 * @param o.root        repository root
 * @param o.tmpDir      private temp dir (Redis files, pidfile, collector configs and state, nginx prefix)
 * @param o.runDir      where each process's log file is (<runDir>/<spec name>.log)
 * @param o.logs        have the collectors ship each watched process's log file as its logs
 * @param o.tag         unique to this run, on demo command lines (so `match` finds only ours)
 * @param o.redis       `{ url }` of a Redis to use, or `{ port }` to start a private one
 * @param o.gatewayPorts one port per gateway
 * @param o.metricsPorts one port per gateway for its /metrics (off the public port)
 * @param o.gatewayRedisUrls optional { [gatewayId]: url }: that gateway reaches Redis there (a proxy, in tests)
 * @param o.lb          `{ port, binary }` of the nginx load balancer in front of the gateways
 * @param o.demo        start the demo processes
 * @param o.httpPort    port of the demo HTTP server
 * @param o.quickFlaky  make the flaky worker die every few seconds (for --check)
 * @param o.intervalMs  sampling interval of every target
 * @param o.auth        the run's auth (auth.mjs createRunAuth): the gateways' key, the token readiness probes use
 */
export function buildTopology(o) {
  const node = process.execPath;
  const specs = [];
  const servers = [];
  // Two collectors share the targets, as two hosts' agents would: `collector` is 1 or 2.
  const collectors = [1, 2].map((n) => ({ n, id: `local-${n}`, name: `collector-${n}`, selfId: `vigil-collector-${n}` }));
  // A server's log file, followed by the collector when it can: `logs` marks servers whose lines
  // a client can subscribe to.
  const target = (server, config, logOf, collector) => {
    const logs = Boolean(o.logs && logOf);
    const withLogs = logs ? (sup) => ({ ...config(sup), logFiles: [join(o.runDir, `${logOf}.log`)] }) : config;
    servers.push({ ...server, logs, config: withLogs, collector: collectors[collector - 1].id });
  };

  let redisUrl = o.redis.url;
  if (!redisUrl) {
    const spec = redisSpec({ port: o.redis.port, dir: o.tmpDir });
    redisUrl = `redis://127.0.0.1:${o.redis.port}`;
    specs.push(spec);
  }

  const gateways = o.gatewayPorts.map((port, i) => {
    const metricsPort = o.metricsPorts[i];
    return { id: `gw-${i + 1}`, port, url: `http://127.0.0.1:${port}`, metricsPort, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
  });
  // Browsers reach the dashboard through the balancer, or a gateway directly: those origins only.
  const origins = (port) => [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
  const gatewayRedisUrls = o.gatewayRedisUrls ?? {};
  for (const id of Object.keys(gatewayRedisUrls)) {
    if (!gateways.some((g) => g.id === id)) throw new Error(`no gateway "${id}" to give a Redis URL (gateways: ${gateways.map((g) => g.id).join(', ')})`);
  }
  gateways.forEach((gw, i) => {
    const ownRedis = gatewayRedisUrls[gw.id];
    specs.push({
      name: `gateway-${gw.id}`,
      role: 'gateway',
      what: `gateway ${gw.id} on ${gw.url}${ownRedis ? ` (Redis through ${ownRedis})` : ''}`,
      command: node,
      args: [join(o.root, 'services/gateway/dist/cli.js')],
      cwd: o.root,
      env: {
        ...o.auth.gatewayEnv(process.env),
        // The VIGIL_ names: they win over PORT/HOST, so one inherited from the shell cannot move a gateway.
        VIGIL_PORT: String(gw.port),
        VIGIL_BIND_HOST: '127.0.0.1',
        VIGIL_REDIS_URL: ownRedis ?? redisUrl,
        VIGIL_GATEWAY_ID: gw.id,
        // SIGTERM drains in at most 2 s (a handful of local clients go in one batch, through the
        // balancer, to the other gateways): Ctrl-C need not wait the default 10 s.
        VIGIL_DRAIN_MS: process.env.VIGIL_DRAIN_MS ?? '2000',
        VIGIL_METRICS_PORT: String(gw.metricsPort),
        VIGIL_PUBLIC_ORIGINS: [...origins(o.lb.port), ...origins(gw.port)].join(','),
        // nginx on loopback appends each client's address: per-address limits count clients, not nginx.
        VIGIL_TRUST_PROXY: '127.0.0.1',
      },
      ready: async () => {
        const { status, body } = await httpGet(`${gw.url}/readyz`);
        if (status !== 200) throw new Error(`/readyz answers ${status}: ${body?.reason ?? JSON.stringify(body)}`);
        return true;
      },
      readyTimeoutMs: 20_000,
      stopTimeoutMs: 15_000,
    });
    target(
      { id: `vigil-${gw.id}`, how: 'pid', what: `the gateway ${gw.id} itself` },
      (sup) => ({ id: `vigil-${gw.id}`, pid: sup.get(`gateway-${gw.id}`).pid }),
      `gateway-${gw.id}`,
      (i % 2) + 1,
    );
  });

  const lb = { port: o.lb.port, url: `http://127.0.0.1:${o.lb.port}` };
  specs.push(nginxSpec({ binary: o.lb.binary, port: lb.port, gateways, tmpDir: o.tmpDir, runDir: o.runDir }));

  if (o.demo) {
    const demo = (file) => join(o.root, 'demo', file);
    const demoEnv = withoutAuth(process.env);
    specs.push({
      name: 'demo-cpu-wave',
      what: 'CPU use rising and falling over a minute',
      command: node,
      args: [demo('cpu-wave.mjs'), '--tag', o.tag],
      env: demoEnv,
    });
    target(
      { id: 'demo-cpu-wave', how: 'pid', what: 'CPU use rising and falling over a minute' },
      (sup) => ({ id: 'demo-cpu-wave', pid: sup.get('demo-cpu-wave').pid }),
      'demo-cpu-wave',
      1,
    );

    specs.push({
      name: 'demo-mem-sawtooth',
      what: 'memory climbing by 160 MiB, then freed',
      command: node,
      args: [demo('mem-sawtooth.mjs'), '--tag', o.tag],
      env: demoEnv,
    });
    target(
      { id: 'demo-mem-sawtooth', how: 'pid', what: 'memory climbing by 160 MiB, then freed' },
      (sup) => ({ id: 'demo-mem-sawtooth', pid: sup.get('demo-mem-sawtooth').pid }),
      'demo-mem-sawtooth',
      1,
    );

    const httpUrl = `http://127.0.0.1:${o.httpPort}`;
    specs.push({
      name: 'demo-http',
      what: `mostly idle HTTP server, ${httpUrl}/ping`,
      command: node,
      args: [demo('http-server.mjs'), '--tag', o.tag],
      env: { ...demoEnv, DEMO_HOST: '127.0.0.1', DEMO_PORT: String(o.httpPort) },
      ready: async () => (await httpGet(`${httpUrl}/ping`)).status === 200,
      readyTimeoutMs: 10_000,
    });
    const match = `http-server\\.mjs --tag ${escapeRegex(o.tag)}$`;
    target(
      { id: 'demo-http', how: 'match', what: `mostly idle HTTP server, ${httpUrl}/ping (logs each request)` },
      () => ({ id: 'demo-http', match, maxInstances: 4 }),
      'demo-http',
      2,
    );

    const pidfile = join(o.tmpDir, 'demo-flaky.pid');
    const lifetime = o.quickFlaky ? '4000' : '40000';
    specs.push({
      name: 'demo-flaky',
      what: `worker that exits every ~${Number(lifetime) / 1000} s, restarted by restart-loop.mjs`,
      command: node,
      args: [demo('restart-loop.mjs'), '--pidfile', pidfile, '--delay', '1000', '--', node, demo('flaky-worker.mjs'), '--tag', o.tag],
      env: { ...demoEnv, DEMO_LIFETIME_MS: lifetime },
      ready: () => existsSync(pidfile),
      readyTimeoutMs: 10_000,
    });
    target(
      { id: 'demo-flaky', how: 'pidfile', what: `worker that exits every ~${Number(lifetime) / 1000} s and is restarted` },
      () => ({ id: 'demo-flaky', pidfile }),
      'demo-flaky',
      2,
    );
  }

  // Not its own log file: every line it wrote about shipping would be shipped in turn.
  for (const c of [...collectors].reverse()) {
    servers.unshift({ id: c.selfId, how: 'self', what: `the collector "${c.id}" itself`, logs: false, config: null, collector: c.id });
  }
  const collectorEnv = withoutAuth(process.env);
  for (const name of COLLECTOR_ENV_OVERRIDES) delete collectorEnv[name];
  for (const c of collectors) {
    c.configPath = join(o.tmpDir, `${c.name}.json`);
    const mine = servers.filter((s) => s.collector === c.id);
    specs.push({
      name: c.name,
      role: 'collector',
      what: `collector "${c.id}" watching ${mine.map((s) => s.id).join(', ')}; config ${c.configPath}`,
      command: node,
      args: [join(o.root, 'services/collector/dist/cli.js'), '--config', c.configPath],
      cwd: o.root,
      env: collectorEnv,
      prepare: ({ sup }) => {
        const config = {
          redisUrl,
          collectorId: c.id,
          defaults: { intervalMs: o.intervalMs, historyMaxLen: 3600 },
          self: { id: c.selfId },
          targets: mine.filter((s) => s.config).map((s) => s.config(sup)),
          // Log positions of this run and this collector only: a later run follows its own files
          // from their end, and two collectors never share a positions file.
          stateDir: join(o.tmpDir, `${c.name}-state`),
        };
        writeFileSync(c.configPath, `${JSON.stringify(config, null, 2)}\n`);
      },
      // Ready when every gateway, and the balancer, list each of its servers with a sample: the
      // whole path works.
      ready: async () => {
        for (const at of [...gateways, { id: 'the load balancer', url: lb.url }]) {
          const { status, body } = await httpGet(`${at.url}/api/servers`, 2000, bearer(o.auth.adminToken));
          if (status !== 200) throw new Error(`${at.id} GET /api/servers answers ${status}`);
          const listed = new Map(body.servers.map((s) => [s.serverId, s]));
          const missing = mine.filter((s) => !listed.get(s.id)?.latest).map((s) => s.id);
          if (missing.length > 0) throw new Error(`${at.id} has no sample yet of ${missing.join(', ')}`);
        }
        return true;
      },
      readyTimeoutMs: 30_000,
      stopTimeoutMs: 12_000,
    });
  }

  return {
    specs,
    servers,
    gateways,
    lb,
    collectors: collectors.map(({ id, name, selfId, configPath }) => ({ id, name, selfId, configPath })),
    redisUrl,
    httpUrl: o.demo ? `http://127.0.0.1:${o.httpPort}` : null,
  };
}
