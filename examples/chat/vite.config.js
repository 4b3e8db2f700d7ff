/**
 * The page's build: React through @vitejs/plugin-react, `index.html` as the entry, output in
 * `dist/` (not committed), which `server.js` serves. `@tether/*` resolve to the workspace packages'
 * built `dist/` (their public entry points): `npm run build` first.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
  },
  logLevel: 'warn',
});
