#!/usr/bin/env node
// Container health check for the gateway image (no curl/wget in node:*-slim):
//   node deploy/healthcheck.mjs [path]        path defaults to /healthz
// GETs http://127.0.0.1:$VIGIL_PORT<path> (else $PORT, else 3001, as the gateway reads them) and exits 0 on a 2xx answer within
// HEALTHCHECK_TIMEOUT_MS (default 2000), 1 otherwise, with one line saying why. Valid on Node 20+.
const path = process.argv[2] ?? '/healthz';
const port = process.env.VIGIL_PORT || process.env.PORT || '3001';
const timeoutMs = Number(process.env.HEALTHCHECK_TIMEOUT_MS) || 2000;
const url = `http://127.0.0.1:${port}${path.startsWith('/') ? path : `/${path}`}`;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer().catch(() => undefined);
  if (res.ok) process.exit(0);
  console.error(`healthcheck: ${url} answered ${res.status}`);
} catch (err) {
  console.error(`healthcheck: ${url} failed: ${err?.cause?.code ?? err?.name ?? err}`);
}
process.exit(1);
