// The environment variables vigil's programs share with the platforms they run on, and the one
// rule between them: a VIGIL_ variable always wins over the generic name a platform may set for
// every process (PORT, HOST, REDIS_URL, LOG_LEVEL), which is read only when the VIGIL_ one is not.
export const GENERIC_ENV = {
  VIGIL_PORT: 'PORT',
  VIGIL_BIND_HOST: 'HOST',
  VIGIL_REDIS_URL: 'REDIS_URL',
  VIGIL_LOG_LEVEL: 'LOG_LEVEL',
} as const satisfies Record<`VIGIL_${string}`, string>;

/** `name`, then the generic variable it falls back to (if any): the order to read them in. */
export function envNames(name: `VIGIL_${string}`): string[] {
  const generic = (GENERIC_ENV as Record<string, string>)[name];
  return generic === undefined ? [name] : [name, generic];
}

/** The first of `envNames(name)` set to something (an empty value counts as unset), and its value. */
export function readEnv(env: Readonly<Record<string, string | undefined>>, name: `VIGIL_${string}`): { name: string; value: string } | undefined {
  for (const n of envNames(name)) {
    const value = env[n];
    if (value !== undefined && value !== '') return { name: n, value };
  }
  return undefined;
}
