// A bounded, ordered run of one server's samples: history from REST and live samples from the
// socket merge into it in position order, each position once, the oldest dropped past capacity.
import { comparePositions, positionTime, type ProcessInfoEvent } from '@vigil/protocol';

export type SamplePoint = {
  position: string;
  /** Seconds since the epoch (uPlot's unit for time). */
  time: number;
  cpu: number;
  rss: number;
};

export class SampleSeries {
  readonly capacity: number;
  #points: SamplePoint[] = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get length(): number {
    return this.#points.length;
  }

  get last(): SamplePoint | undefined {
    return this.#points[this.#points.length - 1];
  }

  get points(): readonly SamplePoint[] {
    return this.#points;
  }

  /** Adds a sample unless its position is already in; returns whether it was added. */
  add(event: ProcessInfoEvent): boolean {
    const point = toPoint(event);
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

  addAll(events: readonly ProcessInfoEvent[]): void {
    for (const event of events) this.add(event);
  }

  /** Columns for uPlot: [times, values]. */
  columns(field: 'cpu' | 'rss'): [number[], number[]] {
    return [this.#points.map((p) => p.time), this.#points.map((p) => p[field])];
  }
}

/** Time is the position's (Redis time): it grows with the position, as uPlot needs its x to. */
function toPoint(event: ProcessInfoEvent): SamplePoint {
  return {
    position: event.position,
    time: positionTime(event.position) / 1000,
    cpu: event.processInfo.cpu,
    rss: event.processInfo.memory.rss,
  };
}
