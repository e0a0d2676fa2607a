#!/usr/bin/env node
// `npm start`: the whole of vigil on this machine, shaped like a deployment. Builds if needed,
// uses the Redis at VIGIL_REDIS_URL/REDIS_URL or starts a private one, starts three gateways,
// nginx as the load balancer in front of them, the demo processes and two collectors watching
// them, waits until samples flow through the balancer and every gateway, then says where to
// connect: the balancer. Ctrl-C stops everything it started, in reverse order, by pid. A
// gateway that dies while others remain is reported and the rest keeps running (its clients move
// to the others through the balancer); any other death stops the run. `--check` verifies the
// running system through the balancer (WebSocket and long-polling clients, sticky to each
// gateway in turn) and through every gateway directly, and exits 0 only if all is well. The
// gateways require tokens: the run makes its own secret and prints a dashboard link that signs in
// and an admin token (scripts/lib/auth.mjs).
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRunAuth } from './lib/auth.mjs';
import { buildNeeded, runBuild } from './lib/build.mjs';
import { runCheck } from './lib/check.mjs';
import { NGINX_INSTALL_HINT, findNginx } from './lib/nginx.mjs';
import { freePort, freePortsFrom } from './lib/ports.mjs';
import { redisPing } from './lib/redis.mjs';
import { createRunDir, stopLeftovers } from './lib/run-dir.mjs';
import { ProcessDied, Supervisor, describeExit, tail } from './lib/supervisor.mjs';
import { buildTopology, collectorFollowsLogFiles } from './lib/topology.mjs';
import { Aborted, httpGet, sleep } from './lib/wait.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DASHBOARD_BUILD = join(ROOT, 'services/dashboard/dist/index.html');
const RUN_BASE = join(ROOT, '.vigil', 'run');
/** The gateways' metrics ports start here (VIGIL_METRICS_PORT's default), one per gateway. */
const METRICS_BASE_PORT = 9464;

const USAGE = `usage: node scripts/run-local.mjs [options]     (npm start -- [options])
  --gateways <n>   how many gateways behind the load balancer (default 3)
  --port <base>    the load balancer's port (default 3001); the gateways take the next free ones
  --metrics-port <base>
                   the first gateway's /metrics port (default 9464); the others take the next free
                   ones; 0: any free ports (programs that run several clusters at once)
  --interval <ms>  sampling interval of every watched process (default 1000)
  --no-demo        start no demo processes (the collectors watch themselves and the gateways)
  --no-build       do not build, even if the build is missing or older than the sources
  --check          start everything, verify live samples, restarts and log lines through the
                   load balancer (WebSocket and polling clients) and through every gateway,
                   print a summary, stop; exit code 0 only if all is well
  --timeout <s>    how long --check waits for samples (default 60)
  --ready-file <path>
                   for programs that drive the run (tests): once everything is up, write what
                   runs where (URLs, ports, pids, servers) and the run's admin token to <path>
                   as JSON (mode 0600); the run also stops by itself when the process that
                   started it is gone
  --gateway-redis-url <gw-id>=<url>
                   that gateway reaches Redis at <url> instead (e.g. through a test's TCP proxy);
                   repeatable
  -h, --help       this help
env: VIGIL_REDIS_URL or REDIS_URL: use that Redis (7+) if it answers PING, else a private one
     VIGIL_NGINX: the nginx binary (default: nginx on the PATH, or /usr/sbin/nginx)
     VIGIL_LOG_LEVEL: log level of gateways and collectors (default info)
     VIGIL_AUTH_SECRET: the HS256 secret the gateways verify tokens with (at least 32 bytes;
       default: a random one for this run, so tokens of an earlier run no longer work)`;

const print = (line = '') => process.stdout.write(`${line}\n`);

function parseFlags() {
  const { values } = parseArgs({
    options: {
      gateways: { type: 'string', default: '3' },
      port: { type: 'string', default: '3001' },
      'metrics-port': { type: 'string', default: String(METRICS_BASE_PORT) },
      interval: { type: 'string', default: '1000' },
      'ready-file': { type: 'string' },
      'gateway-redis-url': { type: 'string', multiple: true, default: [] },
      'no-demo': { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      check: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '60' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const int = (name, min, max) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}, got "${values[name]}"`);
    return n;
  };
  const gatewayRedisUrls = {};
  for (const pair of values['gateway-redis-url']) {
    const m = /^([A-Za-z0-9._:-]+)=(rediss?:\/\/.+)$/.exec(pair);
    if (!m) throw new Error(`--gateway-redis-url expects <gw-id>=redis://host:port, got "${pair}"`);
    gatewayRedisUrls[m[1]] = m[2];
  }
  return {
    help: values.help,
    gateways: int('gateways', 1, 16),
    port: int('port', 1, 65535),
    metricsPort: int('metrics-port', 0, 65535),
    intervalMs: int('interval', 100, 60_000),
    readyFile: values['ready-file'] ? resolve(values['ready-file']) : null,
    gatewayRedisUrls,
    demo: !values['no-demo'],
    build: !values['no-build'],
    check: values.check,
    timeoutMs: int('timeout', 1, 3600) * 1000,
  };
}

/** `count` ports the kernel picks (scattered, so concurrent runs do not reach for the same ones), none in `taken`. */
async function anyFreePorts(count, taken) {
  const out = [];
  for (let tries = 0; out.length < count; tries++) {
    if (tries > 100) throw new Error(`no ${count} free ports`);
    const port = await freePort();
    if (!taken.has(port) && !out.includes(port)) out.push(port);
  }
  return out;
}

const redact = (url) => url.replace(/\/\/[^@/]*@/, '//***@');

/** A Redis that answers at VIGIL_REDIS_URL or REDIS_URL, or null. */
async function givenRedis() {
  const name = process.env.VIGIL_REDIS_URL ? 'VIGIL_REDIS_URL' : process.env.REDIS_URL ? 'REDIS_URL' : null;
  if (!name) return null;
  const url = process.env[name];
  const ping = await redisPing(url);
  if (ping.ok) return url;
  print(`${name}=${redact(url)} does not answer PING (${ping.why}): starting a private redis-server instead`);
  return null;
}

function printBanner(topo, run, redisPrivate, flags, token) {
  const lb = topo.lb.url;
  const rel = (p) => {
    const r = relative(process.cwd(), p) || '.';
    return r.startsWith('..') ? p : r;
  };
  const pad = (s, n) => s.padEnd(n);
  const example = topo.servers.find((s) => s.id === 'demo-cpu-wave') ?? topo.servers[0];
  print('');
  print('vigil is running.');
  print('');
  print(`  Connect here (nginx, the load balancer): ${lb}`);
  if (existsSync(DASHBOARD_BUILD)) print(`    Dashboard:  ${lb}/#token=${token}   (this link signs you in)`);
  print(`    Socket.IO:  ${lb}/monitoring   (WebSocket or long polling; sticky by client address)`);
  print(`    REST:       ${lb}/api/servers`);
  print(`                ${lb}/api/servers/${example.id}`);
  print(`                ${lb}/api/servers/${example.id}/metrics?limit=10`);
  print(`  Gateways behind it (each one also answers directly; /healthz /readyz; /metrics on its own port):`);
  for (const gw of topo.gateways) print(`    ${gw.id}  ${gw.url}    e.g. ${gw.url}/readyz  ${gw.metricsUrl}`);
  print(`  Redis: ${redact(topo.redisUrl)}${redisPrivate ? '  (private to this run, gone when it stops)' : ''}`);
  print('');
  print('  Token (every server, logs, admin; valid while this run lasts, as its key is made for it):');
  print(`    ${token}`);
  print('    Socket.IO clients send it in the handshake (auth: { token }), REST as "Authorization: Bearer <token>".');
  print('    Tokens of your own: run with VIGIL_AUTH_SECRET=<32+ bytes> npm start, then mint with the same variable:');
  print("    node services/gateway/dist/cli.js token --sub <who> --servers '<glob>' [--logs] --ttl 1h   (docs/security.md)");
  print('');
  print(`  Servers (sampled every ${flags.intervalMs} ms):`);
  const w = Math.max(...topo.servers.map((s) => s.id.length));
  const cw = Math.max(...topo.collectors.map((c) => c.id.length));
  for (const s of topo.servers) print(`    ${pad(s.id, w)}  ${pad(s.how, 7)}  ${pad(s.collector, cw)}  ${s.what}`);
  print(`  (third column: the collector watching it; configs ${topo.collectors.map((c) => rel(c.configPath)).join(', ')})`);
  print('');
  const logged = topo.servers.find((s) => s.logs && s.id === 'demo-http') ?? topo.servers.find((s) => s.logs);
  if (logged) {
    print('  The collectors ship each watched process\'s log file (below) as its logs: subscribe-server-logs,');
    print(`  or ${lb}/api/servers/${logged.id}/logs?limit=20${topo.httpUrl ? ` (curl ${topo.httpUrl}/ping to make the demo log)` : ''}.`);
    print('');
  }
  print('  Try:');
  print(`    curl -s -H "Authorization: Bearer ${token}" ${lb}/api/servers/${example.id}`);
  print(
    `    node -e "const {io}=require('socket.io-client');const s=io('${lb}/monitoring',{auth:{token:'${token}'}});` +
      `s.emit('subscribe-server-metrics',{serverId:'${example.id}'},a=>console.log('ack',a));` +
      `s.on('process:info',m=>console.log(m.serverId,m.processInfo.cpu+'%',m.processInfo.memory.rss,m.position))"`,
  );
  print('    (from the repository root, where socket.io-client is installed)');
  print('');
  print(`  Logs (one file per process; gateways and collectors write pino JSON lines): ${rel(run.dir)}/`);
  print(`    also reachable as ${rel(join(RUN_BASE, 'latest'))}/, e.g.  tail -f ${rel(join(RUN_BASE, 'latest', 'gateway-gw-1.log'))}`);
  print(`    nginx: nginx.log (its error log) and nginx-access.log`);
  print('');
  print(`  Ctrl-C stops everything.${flags.demo ? '' : ' (--no-demo: no demo processes)'}`);
}

/** What a program driving this run needs: written atomically once everything is up, readable by its owner only (it holds a token). */
function writeReadyFile(path, topo, sup, run, token) {
  const pidOf = (name) => sup.get(name)?.pid ?? null;
  const info = {
    pid: process.pid,
    runDir: run.dir,
    lb: { url: topo.lb.url, port: topo.lb.port, pid: pidOf('nginx') },
    gateways: topo.gateways.map((g) => ({ id: g.id, url: g.url, port: g.port, metricsUrl: g.metricsUrl, pid: pidOf(`gateway-${g.id}`) })),
    collectors: topo.collectors.map((c) => ({ id: c.id, selfId: c.selfId, pid: pidOf(c.name) })),
    redisUrl: topo.redisUrl,
    httpUrl: topo.httpUrl,
    servers: topo.servers.map(({ id, how, collector, logs }) => ({ id, how, collector, logs })),
    token,
  };
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

function reportFailure(err) {
  const proc = err?.proc ?? (err instanceof ProcessDied ? err.proc : null);
  print('');
  print(`FAILED: ${err instanceof ProcessDied ? describeExit(err.proc) : err.message}`);
  if (proc?.pid !== undefined) {
    const lines = tail(proc.logPath, 20);
    print(`  last lines of ${relative(process.cwd(), proc.logPath)}:`);
    for (const line of lines.length ? lines : ['(empty)']) print(`    ${line}`);
  }
}

async function main() {
  let flags;
  try {
    flags = parseFlags();
  } catch (err) {
    print(err.message);
    print(USAGE);
    return 2;
  }
  if (flags.help) {
    print(USAGE);
    return 0;
  }
  const nginx = findNginx();
  if (!nginx) {
    if (process.env.VIGIL_NGINX) print(`VIGIL_NGINX=${process.env.VIGIL_NGINX} is not an executable file.`);
    print(NGINX_INSTALL_HINT);
    return 1;
  }

  if (flags.build) {
    const why = buildNeeded(ROOT);
    if (why) {
      print(`building, because ${why}: npm run build`);
      await runBuild(ROOT);
    }
  }

  await stopLeftovers(RUN_BASE, print);
  const run = createRunDir(RUN_BASE);
  const tmpDir = mkdtempSync(join(tmpdir(), 'vigil-local-'));
  const auth = await createRunAuth(tmpDir);
  const redisUrl = await givenRedis();
  const [lbPort, ...gatewayPorts] = await freePortsFrom(flags.port, flags.gateways + 1);
  // Each gateway's /metrics is on a port of its own (9464 and up), off the public one.
  const taken = new Set([lbPort, ...gatewayPorts]);
  const metricsPorts = flags.metricsPort === 0 ? await anyFreePorts(flags.gateways, taken) : await freePortsFrom(flags.metricsPort, flags.gateways, taken);
  let httpPort;
  do httpPort = await freePort();
  while (gatewayPorts.includes(httpPort) || metricsPorts.includes(httpPort) || httpPort === lbPort);
  const logs = collectorFollowsLogFiles(ROOT);
  const topo = buildTopology({
    root: ROOT,
    tmpDir,
    runDir: run.dir,
    logs,
    tag: `vigil-${run.name}`,
    redis: redisUrl ? { url: redisUrl } : { port: await freePort() },
    gatewayPorts,
    metricsPorts,
    gatewayRedisUrls: flags.gatewayRedisUrls,
    lb: { port: lbPort, binary: nginx },
    demo: flags.demo,
    httpPort,
    quickFlaky: flags.check,
    intervalMs: flags.intervalMs,
    auth,
  });

  const sup = new Supervisor({ runDir: run.dir, meta: { tmpDir } });
  const controller = new AbortController();
  let failure = null;
  let running = false;
  sup.onUnexpectedExit((proc) => {
    // Once up, a lost gateway is what the balancer is for: its clients reconnect to the others.
    // Not in --check (which must see everything work), and not the last gateway.
    const gatewaysLeft = sup.procs.filter((p) => p.spec.role === 'gateway' && p.exit === null && p.pid !== undefined).length;
    if (running && !flags.check && proc.spec.role === 'gateway' && gatewaysLeft > 0) {
      print(`note: ${describeExit(proc)}; ${gatewaysLeft} of ${topo.gateways.length} gateways still serve behind ${topo.lb.url}`);
      return;
    }
    failure ??= new ProcessDied(proc);
    controller.abort(failure);
  });
  let firstSignalAt = 0;
  const onSignal = (signal) => {
    if (firstSignalAt === 0) {
      firstSignalAt = Date.now();
      print(`\n${signal}: stopping everything this run started… (again to kill at once)`);
      controller.abort(new Error(signal));
      return;
    }
    // One Ctrl-C can arrive twice (from the terminal and forwarded by npm): only a later one forces.
    if (Date.now() - firstSignalAt < 1000) return;
    print(`${signal} again: killing everything now`);
    sup.killAll().finally(() => {
      rmSync(tmpDir, { recursive: true, force: true });
      process.exit(1);
    });
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => onSignal(signal));
  // Driven by another program (--ready-file): stop when it is gone, rather than run on forever.
  let parentWatch;
  if (flags.readyFile) {
    const parent = process.ppid;
    parentWatch = setInterval(() => {
      if (process.ppid !== parent) onSignal('parent process gone');
    }, 1000);
    parentWatch.unref();
  }

  let exitCode = 0;
  print(`run ${run.name}: logs in ${relative(process.cwd(), run.dir)}/`);
  try {
    for (const spec of topo.specs) {
      print(`starting ${spec.name}: ${spec.what}`);
      await sup.start(spec, { sup }, controller.signal);
    }
    running = true;
    if (flags.check) {
      print(`every gateway and the load balancer list every server; checking live data through Socket.IO (up to ${flags.timeoutMs / 1000} s)…`);
      const result = await runCheck({
        root: ROOT,
        lb: topo.lb,
        gateways: topo.gateways,
        servers: topo.servers,
        restartId: flags.demo ? 'demo-flaky' : null,
        logIds: topo.servers.filter((s) => s.logs && (s.id === 'demo-http' || s.id === 'demo-flaky')).map((s) => s.id),
        poke: async () => topo.httpUrl && (await httpGet(`${topo.httpUrl}/ping`)),
        dashboard: existsSync(DASHBOARD_BUILD),
        token: auth.adminToken,
        timeoutMs: flags.timeoutMs,
        signal: controller.signal,
        print,
      });
      if (result.failed > 0) exitCode = 1;
    } else {
      printBanner(topo, run, !redisUrl, flags, auth.adminToken);
      if (flags.readyFile) writeReadyFile(flags.readyFile, topo, sup, run, auth.adminToken);
      while (!controller.signal.aborted) await sleep(60_000, controller.signal).catch(() => undefined);
    }
  } catch (err) {
    if (!(err instanceof Aborted)) failure ??= err;
  }
  clearInterval(parentWatch);
  if (failure) {
    reportFailure(failure);
    exitCode = 1;
  }
  print('stopping…');
  await sup.stopAll((line) => print(`  ${line}`));
  rmSync(tmpDir, { recursive: true, force: true });
  if (flags.readyFile) rmSync(flags.readyFile, { force: true });
  print(exitCode === 0 ? 'all stopped.' : 'all stopped (with the failure above).');
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    print(`run-local: ${err?.message ?? err}`);
    process.exit(1);
  },
);
