// Bundles the browser entry with esbuild. The engine's .wasm is an asset: esbuild's `file` loader
// copies it next to the bundle and gives its URL, which init() fetches (any bundler that turns an
// import into a URL works the same: Vite's `?url`, webpack's asset/resource).
import * as esbuild from 'esbuild';

await esbuild.build({
  entryPoints: ['src/browser.js'],
  bundle: true,
  format: 'esm',
  outdir: 'dist',
  loader: { '.wasm': 'file' },
  logLevel: 'warning',
});
