// `--check`: proves the running system end to end, as dashboards would see it. Socket.IO
// clients ("views") subscribe to every server: one directly on every gateway, and through the load
// balancer, for every gateway, one WebSocket client and one long-polling-only client whose
// address the balancer is sticky to that gateway (see lb.mjs). Each view must receive live
// samples of every server, in position order, none twice, the same ones through every view, and
// (when the flaky demo runs) its `restarted` status. When the collectors ship logs, the lines of
// the servers that log during the check (the HTTP demo, which the check pings, and the flaky
// one) must arrive the same way. REST must list every server on every gateway and through the
// balancer, and each gateway's /metrics (on its metrics port) must count the clients the balancer sent it. Every client
// and REST call carries the run's token; REST without one must be refused (401).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { bearer } from './auth.mjs';
import { canBindLoopbackAliases, fromAddress, gatewayConnections, stickyAddresses } from './lb.mjs';
import { httpGet, sleep } from './wait.mjs';

const LIVE_SAMPLES_WANTED = 3;
const POSITION_RE = /^\d+-\d+$/;

function comparePositions(a, b) {
  const [ma, sa] = a.split('-').map(Number);
  const [mb, sb] = b.split('-').map(Number);
  return ma - mb || sa - sb;
}

/** socket.io-client as the gateway's own dev dependency (the workspace installs it). */
function loadClient(root) {
  const require = createRequire(join(root, 'services/gateway/package.json'));
  return require('socket.io-client');
}

/** What one client saw of one kind of event for one server. */
function track() {
  return { confirmed: false, replayed: 0, live: [], last: null };
}

function record(view, kind, msg) {
  const s = view.servers.get(msg?.serverId)?.[kind];
  if (!s) return;
  const at = msg.position;
  if (typeof at !== 'string' || !POSITION_RE.test(at)) view.problems.push(`${kind} of ${msg.serverId} without a position`);
  else if (s.last && comparePositions(at, s.last.position) <= 0) {
    view.problems.push(`${kind} of ${msg.serverId}: ${at} arrived after ${s.last.position} (duplicate or out of order)`);
  }
  s.last = msg;
  if (s.confirmed) s.live.push(at);
  else s.replayed++;
}

/**
 * One view: a client subscribed to every server's metrics (and logs), recording what arrives.
 * `v`: { label, url, transports, localAddress?, gatewayId? (where it should land) }.
 */
async function watch(io, v, servers, views, token) {
  const client = fromAddress(v.localAddress);
  const socket = io(`${v.url}/monitoring`, { transports: v.transports, reconnection: false, forceNew: true, timeout: 5000, auth: { token }, ...client });
  const view = { ...v, socket, agent: client.agent, problems: [], servers: new Map() };
  views.push(view);
  for (const s of servers) view.servers.set(s.id, { metrics: track(), logs: s.logs ? track() : null, statuses: [] });
  socket.on('process:info', (msg) => {
    record(view, 'metrics', msg);
    const info = msg?.processInfo;
    if (!(info?.pid > 0 && typeof info.cpu === 'number' && info.memory?.rss > 0)) {
      view.problems.push(`process:info of ${msg?.serverId}: malformed processInfo ${JSON.stringify(info)}`);
    }
  });
  socket.on('process:logs', (msg) => record(view, 'logs', msg));
  socket.on('server-status-changed', (msg) => view.servers.get(msg?.serverId)?.statuses.push(msg.status));
  socket.on('disconnect', (reason) => view.problems.push(`disconnected: ${reason}`));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${v.label}: no connection-established within 5 s`)), 5000);
    socket.once('connection-established', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${v.label}: cannot connect: ${err.message}`));
    });
  });
  for (const s of servers) {
    const seen = view.servers.get(s.id);
    const ack = await socket.timeout(5000).emitWithAck('subscribe-server-metrics', { serverId: s.id });
    if (!ack?.ok) view.problems.push(`subscribe-server-metrics ${s.id} refused: ${JSON.stringify(ack)}`);
    seen.metrics.confirmed = true;
    if (seen.logs) {
      const logAck = await socket.timeout(5000).emitWithAck('subscribe-server-logs', { serverId: s.id });
      if (!logAck?.ok) view.problems.push(`subscribe-server-logs ${s.id} refused: ${JSON.stringify(logAck)}`);
      seen.logs.confirmed = true;
    }
  }
}

/** `vigil_gateway_connections` of a gateway's /metrics, or null. */
const connectionsOf = (gw) => gatewayConnections(gw.metricsUrl);

/** The views of the check: every gateway directly, and both transports through the balancer to each gateway. */
async function planViews(lb, gateways, ok) {
  const views = gateways.map((gw) => ({ label: gw.id, url: gw.url, transports: ['websocket'], gatewayId: gw.id, direct: true }));
  const through = (label, transports, localAddress, gatewayId) => ({ label, url: lb.url, transports, localAddress, gatewayId, direct: false });
  if (!(await canBindLoopbackAliases())) {
    // Every client comes from 127.0.0.1: the balancer sends them all to one gateway.
    views.push(through('lb/ws', ['websocket'], undefined, undefined), through('lb/poll', ['polling'], undefined, undefined));
    return views;
  }
  const sticky = await stickyAddresses(lb.url, { wanted: gateways.map((g) => g.id) });
  for (const gw of gateways) {
    const [address] = sticky.get(gw.id);
    ok(address, `the balancer sends some client address to ${gw.id}`, 'none of 250 loopback addresses');
    if (!address) continue;
    views.push(through(`lb/ws→${gw.id}`, ['websocket'], address, gw.id), through(`lb/poll→${gw.id}`, ['polling'], address, gw.id));
  }
  return views;
}

/**
 * Runs the check and prints a summary. Resolves `{ passed, failed }`.
 * @param o.lb         { url } of the load balancer
 * @param o.gateways   [{ id, url }]
 * @param o.servers    [{ id, how, what, logs }]
 * @param o.restartId  server expected to report `restarted`, or null
 * @param o.logIds     servers whose live log lines are required
 * @param o.poke       called about once a second while waiting (makes the HTTP demo log)
 * @param o.dashboard  the dashboard is built: every gateway and the balancer must serve it at /
 * @param o.token      the run's token (every server, logs): what the views and REST calls carry
 */
export async function runCheck({ root, lb, gateways, servers, restartId, logIds = [], poke = async () => {}, dashboard = false, token, timeoutMs, signal, print }) {
  const results = [];
  const ok = (good, name, detail = '') => results.push({ good: Boolean(good), name, detail });
  const serverIds = servers.map((s) => s.id);

  for (const gw of [...gateways, { id: 'load balancer', url: lb.url }]) {
    const ready = await httpGet(`${gw.url}/readyz`).catch((err) => ({ status: 0, body: err.message }));
    ok(ready.status === 200, `${gw.id} /readyz answers 200`, ready.status === 200 ? '' : JSON.stringify(ready.body));
    const refused = await httpGet(`${gw.url}/api/servers`).catch(() => ({ status: 0 }));
    ok(refused.status === 401, `${gw.id} GET /api/servers without a token answers 401`, `answered ${refused.status}`);
    const list = await httpGet(`${gw.url}/api/servers`, 2000, bearer(token)).catch(() => ({ status: 0, body: {} }));
    const listed = new Set((list.body.servers ?? []).map((s) => s.serverId));
    const missing = serverIds.filter((id) => !listed.has(id));
    ok(list.status === 200 && missing.length === 0, `${gw.id} GET /api/servers lists all ${serverIds.length} servers`, missing.join(', '));
    if (dashboard) {
      const page = await httpGet(`${gw.url}/`).catch((err) => ({ status: 0, body: err.message }));
      const html = page.status === 200 && typeof page.body === 'string' && /^<!doctype html>/i.test(page.body);
      ok(html, `${gw.id} GET / serves the dashboard`, `${page.status} ${String(page.body).slice(0, 80)}`);
    }
  }

  const { io } = loadClient(root);
  const views = [];
  const done = () =>
    views.every((v) =>
      serverIds.every((id) => {
        const s = v.servers.get(id);
        return (
          s.metrics.live.length >= LIVE_SAMPLES_WANTED &&
          (id !== restartId || s.statuses.includes('restarted')) &&
          (!logIds.includes(id) || s.logs?.live.length > 0)
        );
      }),
    );
  try {
    for (const v of await planViews(lb, gateways, ok)) await watch(io, v, servers, views, token);
    // Each gateway holds its direct client and the balancer's clients sticky to it.
    for (const gw of gateways) {
      const expected = views.filter((v) => v.gatewayId === gw.id);
      const held = await connectionsOf(gw);
      ok(held !== null && held >= expected.length, `${gw.id} holds its ${expected.length} clients (${expected.map((v) => v.label).join(', ')})`, `its /metrics says ${held}`);
    }
    const deadline = Date.now() + timeoutMs;
    let poked = 0;
    while (!done() && Date.now() < deadline) {
      if (Date.now() - poked >= 1000) {
        poked = Date.now();
        await poke().catch(() => undefined);
      }
      await sleep(250, signal);
    }

    for (const v of views) {
      for (const id of serverIds) {
        const s = v.servers.get(id);
        ok(s.metrics.live.length >= LIVE_SAMPLES_WANTED, `${v.label}: live process:info for ${id}`, `${s.metrics.live.length} received`);
        if (logIds.includes(id)) ok(s.logs?.live.length > 0, `${v.label}: live process:logs for ${id}`, 'none received');
      }
      if (restartId) {
        const statuses = v.servers.get(restartId).statuses;
        ok(statuses.includes('restarted'), `${v.label}: server-status-changed "restarted" for ${restartId}`, statuses.join(' → ') || 'none');
      }
      const transport = v.socket.io.engine?.transport?.name;
      ok(transport === v.transports[0], `${v.label}: stayed on ${v.transports[0]}`, `transport ${transport}`);
      ok(v.problems.length === 0, `${v.label}: every event in order, once, well formed`, v.problems.slice(0, 5).join('; '));
    }
    // Where their windows overlap, every gateway must have delivered exactly the same positions.
    if (views.length > 1) {
      for (const s of servers) {
        for (const kind of s.logs ? ['metrics', 'logs'] : ['metrics']) {
          const lists = views.map((v) => v.servers.get(s.id)[kind].live);
          if (lists.some((l) => l.length === 0)) continue;
          const lo = lists.map((l) => l[0]).sort(comparePositions).at(-1);
          const hi = lists.map((l) => l.at(-1)).sort(comparePositions)[0];
          const inWindow = lists.map((l) => l.filter((p) => comparePositions(p, lo) >= 0 && comparePositions(p, hi) <= 0).join(','));
          ok(inWindow.every((w) => w === inWindow[0]), `all ${views.length} views agree on the ${kind} positions of ${s.id}`);
        }
      }
    }
  } catch (err) {
    ok(false, 'socket.io check ran', err.message);
  } finally {
    for (const v of views) {
      v.socket.close();
      v.agent?.destroy();
    }
  }

  printSummary(print, views, servers);
  for (const r of results) print(`${r.good ? 'ok    ' : 'not ok'}  ${r.name}${r.detail && !r.good ? ` — ${r.detail}` : ''}`);
  const passed = results.filter((r) => r.good).length;
  const failed = results.length - passed;
  print('');
  print(`check: ${passed} passed, ${failed} failed`);
  return { passed, failed };
}

function printSummary(print, views, servers) {
  if (views.length === 0) return;
  const rows = servers.map((s) => {
    const counts = views.map((v) => {
      const seen = v.servers.get(s.id);
      return `${seen.metrics.live.length}${seen.logs ? `/${seen.logs.live.length}` : ''}`;
    });
    const last = views.map((v) => v.servers.get(s.id).metrics.last).find(Boolean);
    const cpu = last ? `${last.processInfo.cpu.toFixed(1)}%` : '-';
    const rss = last ? `${(last.processInfo.memory.rss / 1048576).toFixed(1)} MiB` : '-';
    const statuses = [...new Set(views.flatMap((v) => v.servers.get(s.id).statuses))].join(',') || '-';
    return [s.id, s.how, ...counts, cpu, rss, statuses];
  });
  const head = ['server', 'watched by', ...views.map((v) => `@${v.label}`), 'cpu', 'rss', 'status events'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  print('');
  print('live samples/log lines received by each view (@gw: directly; @lb/ws, @lb/poll: through the balancer, sticky to that gateway)');
  print(line(head));
  for (const r of rows) print(line(r));
  print('');
}
