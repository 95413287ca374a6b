// Bundles the page (page/main.js: the ROPE JavaScript client and the
// monitor) into dist/monitor.js, or into the file given, for
// TestBundleMatchesSources. `npm run build` runs it; so does `make monitor`.
import * as esbuild from 'esbuild';

await esbuild.build({
  entryPoints: ['page/main.js'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  outfile: process.argv[2] || 'dist/monitor.js',
  logLevel: 'warning',
});
