// Bundles the compiled command line (dist/cli/main.js) and its pure-JavaScript dependencies into
// one file, dist/berth.mjs, which bin/berth.js runs: one module to load instead of hundreds halves
// the time `berth serve` needs to be ready. Native modules and drivers loaded on demand stay
// outside (better-sqlite3, argon2, pg, the AWS SDK, dockerode, ws), and so do the S3 driver and
// the large libraries only some configurations use (the LDAP client, X.509), which are imported
// dynamically: bundled, they would be parsed at every start. Whitespace and syntax are minified;
// names are kept, so stack traces stay readable.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/berth.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  external: [
    'better-sqlite3',
    'argon2',
    'pg',
    '@aws-sdk/*',
    'dockerode',
    'ws',
    // Large, and loaded on first use only: the LDAP client (with its URL library) and X.509.
    'ldapts',
    '@peculiar/x509',
  ],
  // Bundled CommonJS code calls require() for Node's own modules.
  banner: {
    js: "import { createRequire as berthCreateRequire } from 'node:module'; const require = berthCreateRequire(import.meta.url);",
  },
  plugins: [
    {
      // The S3 driver (and through it the AWS SDK) stays a module of its own, imported only when
      // a bucket is configured: bundled, its SDK imports would load at every start.
      name: 'lazy-s3-driver',
      setup(b) {
        b.onResolve({ filter: /\/s3-driver\.js$/ }, () => ({
          path: './storage/s3-driver.js',
          external: true,
        }));
      },
    },
  ],
  logLevel: 'warning',
});
