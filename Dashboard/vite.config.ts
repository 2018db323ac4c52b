import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

// Built into dist/ and embedded into Scheduler.Rest (Rest/Dashboard.targets). `npm run dev` proxies the API to a
// silo on the default HTTP port.
export default defineConfig({
  plugins: [preact()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  server: { proxy: { '/api': 'http://127.0.0.1:5000' } },
});
