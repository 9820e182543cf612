import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

// The app lives in app/; `vite build` writes the browser's bundle to dist/client, `vite build --ssr` the
// server's renderer to dist/server (the package's build script passes --outDir).
export default defineConfig({
  root: path.join(here, 'app'),
  plugins: [react()],
  build: { emptyOutDir: true },
  optimizeDeps: { include: ['react', 'react-dom', 'react-dom/client', '@tanstack/react-query'] },
});
