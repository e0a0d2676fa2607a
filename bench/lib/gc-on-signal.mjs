// Preloaded into the soak's gateways and collectors (NODE_OPTIONS="--expose-gc --import=<this>"): SIGUSR2
// runs a full garbage collection, so that the soak reads heap and RSS without the garbage that
// happens to be lying around. An instrument of the benchmark; it changes nothing else.
if (typeof globalThis.gc === 'function') process.on('SIGUSR2', () => globalThis.gc());
