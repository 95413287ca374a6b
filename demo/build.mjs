// Bundles the page (page/main.js: mediasoup-client, the ROPE JavaScript
// client, the room) into dist/room.js, or into the file given, for
// TestBundleMatchesSources. `npm run build` runs it; so does `make demo`.
import * as esbuild from 'esbuild';

await esbuild.build({
  entryPoints: ['page/main.js'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  outfile: process.argv[2] || 'dist/room.js',
  logLevel: 'warning',
});
