// A bounded, ordered run of samples: history from REST and live samples from the socket merge
// into it in position order, each position once, the oldest dropped past capacity. One series
// type for a server's samples and a host's (each says how an event becomes a point).
import { comparePositions, positionTime, type ProcessInfoEvent } from '@vigil/protocol';

export type Point = {
  position: string;
  /** Seconds since the epoch (uPlot's unit for time). */
  time: number;
};

export type SamplePoint = Point & { cpu: number; rss: number };

/** The numeric fields of a point, which a chart can draw. */
export type FieldOf<P extends Point> = { [K in keyof P]: P[K] extends number ? K : never }[keyof P] & string;

export class PointSeries<E extends { position: string }, P extends Point> {
  readonly capacity: number;
  readonly #toPoint: (event: E) => P;
  #points: P[] = [];

  constructor(capacity: number, toPoint: (event: E) => P) {
    this.capacity = capacity;
    this.#toPoint = toPoint;
  }

  get length(): number {
    return this.#points.length;
  }

  get last(): P | undefined {
    return this.#points[this.#points.length - 1];
  }

  get points(): readonly P[] {
    return this.#points;
  }

  /** Adds a sample unless its position is already in; returns whether it was added. */
  add(event: E): boolean {
    const point = this.#toPoint(event);
    const points = this.#points;
    const last = points[points.length - 1];
    if (!last || comparePositions(point.position, last.position) > 0) {
      points.push(point);
    } else {
      // Out of order (history arriving after live samples): insert in place, once.
      let lo = 0;
      let hi = points.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (comparePositions(points[mid]!.position, point.position) < 0) lo = mid + 1;
        else hi = mid;
      }
      if (points[lo] && points[lo]!.position === point.position) return false;
      // Older than everything kept while full: it would be dropped at once.
      if (lo === 0 && points.length >= this.capacity) return false;
      points.splice(lo, 0, point);
    }
    if (points.length > this.capacity) points.splice(0, points.length - this.capacity);
    return true;
  }

  addAll(events: readonly E[]): void {
    for (const event of events) this.add(event);
  }

  /** Columns for uPlot: [times, values]. */
  columns(field: FieldOf<P>): [number[], number[]] {
    return [this.#points.map((p) => p.time), this.#points.map((p) => p[field] as number)];
  }
}

/** Time is the position's (Redis time): it grows with the position, as uPlot needs its x to. */
export function pointTime(position: string): number {
  return positionTime(position) / 1000;
}

export class SampleSeries extends PointSeries<ProcessInfoEvent, SamplePoint> {
  constructor(capacity: number) {
    super(capacity, (event) => ({
      position: event.position,
      time: pointTime(event.position),
      cpu: event.processInfo.cpu,
      rss: event.processInfo.memory.rss,
    }));
  }
}
