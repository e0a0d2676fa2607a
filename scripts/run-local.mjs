#!/usr/bin/env node
// `npm start`: the whole of vigil on this machine. Builds if needed, uses the Redis at
// VIGIL_REDIS_URL/REDIS_URL or starts a private one, starts the gateways, the demo processes and
// a collector watching them, waits until samples flow through every gateway, then says where to
// connect. Ctrl-C stops everything it started, in reverse order. `--check` verifies the running
// system through a Socket.IO client per gateway and exits 0 only if all is well.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildNeeded, runBuild } from './lib/build.mjs';
import { runCheck } from './lib/check.mjs';
import { anyFreePort, freePortsFrom } from './lib/ports.mjs';
import { redisPing } from './lib/redis.mjs';
import { createRunDir, stopLeftovers } from './lib/run-dir.mjs';
import { ProcessDied, Supervisor, describeExit, tail } from './lib/supervisor.mjs';
import { buildTopology, collectorFollowsLogFiles } from './lib/topology.mjs';
import { Aborted, httpGet, sleep } from './lib/wait.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DASHBOARD_BUILD = join(ROOT, 'services/dashboard/dist/index.html');
const RUN_BASE = join(ROOT, '.vigil', 'run');
const INTERVAL_MS = 1000;

const USAGE = `usage: node scripts/run-local.mjs [options]     (npm start -- [options])
  --gateways <n>   how many gateways (default 2)
  --port <base>    first gateway port; the next free ones are used (default 3001)
  --no-demo        start no demo processes (the collector watches itself and the gateways)
  --no-build       do not build, even if the build is missing or older than the sources
  --check          start everything, verify samples reach a Socket.IO client on every gateway,
                   print a summary, stop; exit code 0 only if all is well
  --timeout <s>    how long --check waits for samples (default 60)
  -h, --help       this help
env: VIGIL_REDIS_URL or REDIS_URL: use that Redis (7+) if it answers PING, else a private one
     VIGIL_LOG_LEVEL: log level of gateways and collector (default info)`;

const print = (line = '') => process.stdout.write(`${line}\n`);

function parseFlags() {
  const { values } = parseArgs({
    options: {
      gateways: { type: 'string', default: '2' },
      port: { type: 'string', default: '3001' },
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
  return {
    help: values.help,
    gateways: int('gateways', 1, 16),
    port: int('port', 1, 65535),
    demo: !values['no-demo'],
    build: !values['no-build'],
    check: values.check,
    timeoutMs: int('timeout', 1, 3600) * 1000,
  };
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

function printBanner(topo, run, redisPrivate, flags) {
  const [first] = topo.gateways;
  const rel = (p) => relative(process.cwd(), p) || '.';
  const pad = (s, n) => s.padEnd(n);
  const example = topo.servers.find((s) => s.id === 'demo-cpu-wave') ?? topo.servers[0];
  print('');
  print('vigil is running.');
  print('');
  if (existsSync(DASHBOARD_BUILD)) print(`  Dashboard: ${first.url}/   (served by every gateway)`);
  print('  Socket.IO (namespace /monitoring):');
  for (const gw of topo.gateways) print(`    ${gw.url}/monitoring    (gateway ${gw.id})`);
  print('  REST:');
  print(`    ${first.url}/api/servers`);
  print(`    ${first.url}/api/servers/${example.id}`);
  print(`    ${first.url}/api/servers/${example.id}/metrics?limit=10`);
  print(`    ${first.url}/healthz   ${first.url}/readyz`);
  print(`  Redis: ${redact(topo.redisUrl)}${redisPrivate ? '  (private to this run, gone when it stops)' : ''}`);
  print('');
  print(`  Servers (collector "local", every ${INTERVAL_MS} ms; config ${topo.configPath}):`);
  const w = Math.max(...topo.servers.map((s) => s.id.length));
  for (const s of topo.servers) print(`    ${pad(s.id, w)}  ${pad(s.how, 7)}  ${s.what}`);
  print('');
  const logged = topo.servers.find((s) => s.logs && s.id === 'demo-http') ?? topo.servers.find((s) => s.logs);
  if (logged) {
    print('  The collector ships each watched process\'s log file (below) as its logs: subscribe-server-logs,');
    print(`  or ${first.url}/api/servers/${logged.id}/logs?limit=20${topo.httpUrl ? ' (curl the demo\'s /ping to make it log)' : ''}.`);
    print('');
  }
  print('  Try:');
  print(`    curl -s ${first.url}/api/servers/${example.id}`);
  print(
    `    node -e "const {io}=require('socket.io-client');const s=io('${first.url}/monitoring');` +
      `s.emit('subscribe-server-metrics',{serverId:'${example.id}'},a=>console.log('ack',a));` +
      `s.on('process:info',m=>console.log(m.serverId,m.processInfo.cpu+'%',m.processInfo.memory.rss,m.position))"`,
  );
  print('    (from the repository root, where socket.io-client is installed)');
  print('');
  print(`  Logs (one file per process; gateways and collector write pino JSON lines): ${rel(run.dir)}/`);
  print(`    also reachable as ${rel(join(RUN_BASE, 'latest'))}/, e.g.  tail -f ${rel(join(RUN_BASE, 'latest', 'collector.log'))}`);
  print('');
  print(`  Ctrl-C stops everything.${flags.demo ? '' : ' (--no-demo: no demo processes)'}`);
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
  const redisUrl = await givenRedis();
  const gatewayPorts = await freePortsFrom(flags.port, flags.gateways);
  let httpPort;
  do httpPort = await anyFreePort();
  while (gatewayPorts.includes(httpPort));
  const logs = collectorFollowsLogFiles(ROOT);
  const topo = buildTopology({
    root: ROOT,
    tmpDir,
    runDir: run.dir,
    logs,
    tag: `vigil-${run.name}`,
    redis: redisUrl ? { url: redisUrl } : { port: await anyFreePort() },
    gatewayPorts,
    demo: flags.demo,
    httpPort,
    quickFlaky: flags.check,
    intervalMs: INTERVAL_MS,
  });

  const sup = new Supervisor({ runDir: run.dir, meta: { tmpDir } });
  const controller = new AbortController();
  let failure = null;
  sup.onUnexpectedExit((proc) => {
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

  let exitCode = 0;
  print(`run ${run.name}: logs in ${relative(process.cwd(), run.dir)}/`);
  try {
    for (const spec of topo.specs) {
      print(`starting ${spec.name}: ${spec.what}`);
      await sup.start(spec, { sup }, controller.signal);
    }
    if (flags.check) {
      print(`every gateway lists every server; checking live samples through Socket.IO (up to ${flags.timeoutMs / 1000} s)…`);
      const result = await runCheck({
        root: ROOT,
        gateways: topo.gateways,
        servers: topo.servers,
        restartId: flags.demo ? 'demo-flaky' : null,
        logIds: topo.servers.filter((s) => s.logs && (s.id === 'demo-http' || s.id === 'demo-flaky')).map((s) => s.id),
        poke: async () => topo.httpUrl && (await httpGet(`${topo.httpUrl}/ping`)),
        dashboard: existsSync(DASHBOARD_BUILD),
        timeoutMs: flags.timeoutMs,
        signal: controller.signal,
        print,
      });
      if (result.failed > 0) exitCode = 1;
    } else {
      printBanner(topo, run, !redisUrl, flags);
      while (!controller.signal.aborted) await sleep(60_000, controller.signal).catch(() => undefined);
    }
  } catch (err) {
    if (!(err instanceof Aborted)) failure ??= err;
  }
  if (failure) {
    reportFailure(failure);
    exitCode = 1;
  }
  print('stopping…');
  await sup.stopAll((line) => print(`  ${line}`));
  rmSync(tmpDir, { recursive: true, force: true });
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
