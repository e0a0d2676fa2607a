// @vigil/collector: the agent that samples processes on a host and publishes them to Redis.
export { createCollector, type Collector, type CollectorOptions, type CollectorStats } from './collector.js';
export {
  loadConfig,
  resolveTargets,
  DEFAULT_HISTORY_MAX_LEN,
  DEFAULT_MAX_INSTANCES,
  DEFAULT_REDIS_URL,
  type CollectorConfig,
  type LoadOptions,
  type SelfConfig,
  type Target,
  type TargetConfig,
} from './config.js';
export { parseFlags, USAGE, type Flags } from './flags.js';
export { toProcessInfo, type Observation, type SampleFn } from './sampler.js';
export { slotServerId } from './tracker-slots.js';
