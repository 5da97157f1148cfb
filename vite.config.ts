import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

// The browser client is built into dist/client and served by the relay's bridge.
export default defineConfig({
  root: 'client',
  publicDir: '../public',
  plugins: [svelte()],
  build: { outDir: '../dist/client', emptyOutDir: true },
  resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
});
