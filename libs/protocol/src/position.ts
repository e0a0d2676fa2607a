// Positions are Redis stream ids ("<ms>-<seq>"): every delivered event carries one so that
// clients can order, de-duplicate and resume.
const POSITION_RE = /^(\d{1,15})-(\d{1,15})$/;

export function isPosition(value: unknown): value is string {
  return typeof value === 'string' && POSITION_RE.test(value);
}

/** Negative when a is before b, 0 when equal, positive when after. */
export function comparePositions(a: string, b: string): number {
  const ma = POSITION_RE.exec(a);
  const mb = POSITION_RE.exec(b);
  if (!ma || !mb) throw new TypeError(`not a position: ${ma ? b : a}`);
  const da = Number(ma[1]) - Number(mb[1]);
  if (da !== 0) return da;
  return Number(ma[2]) - Number(mb[2]);
}

/** Milliseconds since the epoch at which Redis assigned the position. */
export function positionTime(position: string): number {
  const m = POSITION_RE.exec(position);
  if (!m) throw new TypeError(`not a position: ${position}`);
  return Number(m[1]);
}
