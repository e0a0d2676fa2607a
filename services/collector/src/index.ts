// @vigil/collector: the agent that samples processes on a host and publishes them to Redis.
export { createCollector, type Collector, type CollectorOptions, type CollectorStats } from './collector.js';
export { loadConfig, type LoadOptions } from './config.js';
export { resolveTargets } from './targets.js';
export {
  DEFAULT_HISTORY_MAX_LEN,
  DEFAULT_LOG_BUFFER_BYTES,
  DEFAULT_LOG_BUFFER_LINES,
  DEFAULT_LOG_HISTORY_MAX_LEN,
  DEFAULT_LOG_POLL_MS,
  DEFAULT_MAX_INSTANCES,
  DEFAULT_REDIS_URL,
  defaultStateDir,
  type CollectorConfig,
  type LogRedaction,
  type RedactConfig,
  type SelfConfig,
  type Target,
  type TargetConfig,
} from './config-schema.js';
export { parseFlags, USAGE, type Flags } from './flags.js';
export { ProcessInfoBody, processInfoHead, processInfoTail, toProcessInfo, type Observation, type SampleFn } from './sampler.js';
export { slotServerId } from './tracker-slots.js';
export { DEFAULT_LOG_RATE_LIMIT, type RateLimit } from './rate-limit.js';
export { DEFAULT_RESTART, DEFAULT_STOP_GRACE_MS, type RestartPolicy } from './supervisor.js';
export { AGENT_STREAM } from './log-channel.js';
export { EVENTS_MAX_LEN } from './publisher.js';
export { HostSampler, type HostSamplerOptions } from './host-sampler.js';
export { DEFAULT_HOST_MOUNTS, DEFAULT_EXCLUDED_INTERFACES, type HostMetricsConfig } from './config-schema.js';
