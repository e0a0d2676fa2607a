// The dashboard's build: static files in dist/, served by the gateway at `/`. @vigil/client (and
// @vigil/protocol under it) are bundled from their TypeScript sources through the `vigil:source`
// export condition, so a clean clone builds without building the libraries first.
import { defineConfig, defaultClientConditions } from 'vite';

export default defineConfig({
  base: './',
  resolve: {
    conditions: ['vigil:source', ...defaultClientConditions],
  },
  esbuild: {
    jsx: 'automatic',
    jsxImportSource: 'preact',
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 400,
  },
  server: { host: '127.0.0.1' },
  clearScreen: false,
});
