// Which tracker follows a target polled by ticks. Command targets are not: their CommandTracker
// is told by the supervisor (collector.ts builds it beside the supervisor).
import type { Target } from './config-schema.js';
import { FirstIdentityTracker, PidfileTracker } from './tracker-identity.js';
import { SlotTracker } from './tracker-slots.js';
import type { Tracker } from './tracker.js';

export function createTracker(target: Exclude<Target, { kind: 'command' }>): Tracker {
  switch (target.kind) {
    case 'pid':
    case 'self':
      return new FirstIdentityTracker(target);
    case 'pidfile':
      return new PidfileTracker(target);
    case 'match':
      return new SlotTracker(target.id, target.intervalMs, target.maxInstances);
  }
}
