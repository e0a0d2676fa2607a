// One value from a Prometheus text exposition (the gateway's /metrics): the sample of `name`
// without labels, or the sum over its labelled samples when it only has labelled ones.
export function promValue(text: string, name: string): number | null {
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([-+0-9.eE]+|NaN)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const v = Number(m[3]);
    if (!m[2]) return v;
    sum = (sum ?? 0) + v;
  }
  return sum;
}
