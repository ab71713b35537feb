/// <reference types="vitest/config" />
import { defineConfig, type Plugin } from 'vite';
import { gzipSync } from 'node:zlib';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// Where `npm run dev` and `npm run preview` send API calls. Strata's HTTP port by default.
const target = process.env.STRATA_URL ?? 'http://127.0.0.1:3100';

const proxy = {
  '/loki': { target, changeOrigin: true, ws: true },
  '/api': { target, changeOrigin: true },
  '/ui/api': { target, changeOrigin: true },
};

// Writes a .gz next to every compressible file in dist so the Go handler can serve it
// pre-compressed (no compression work at request time, no extra dependency).
function precompress(): Plugin {
  let outDir = 'dist';
  return {
    name: 'strata-precompress',
    apply: 'build',
    configResolved(c) {
      outDir = c.build.outDir;
    },
    closeBundle() {
      const walk = (dir: string) => {
        for (const name of readdirSync(dir)) {
          const p = join(dir, name);
          if (statSync(p).isDirectory()) walk(p);
          else if (/\.(js|css|html|svg|json)$/.test(name) && statSync(p).size > 1024) {
            writeFileSync(p + '.gz', gzipSync(readFileSync(p), { level: 9 }));
          }
        }
      };
      walk(outDir);
    },
  };
}

export default defineConfig({
  // Relative asset URLs: together with <base href> in index.html this lets the Go handler
  // serve the UI under any path prefix.
  base: './',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  plugins: [precompress()],
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
  server: { port: 5173, proxy },
  preview: { port: 4173, proxy },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
