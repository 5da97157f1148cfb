import { defineConfig } from 'vite';

// The browser client is built into dist/client and served by the relay's bridge.
export default defineConfig({
  root: 'client',
  publicDir: '../public',
  build: { outDir: '../dist/client', emptyOutDir: true },
});
