// Bundles the compiled command line (dist/cli/main.js) and its pure-JavaScript dependencies into
// one CommonJS file, dist/berth.cjs (its wrapper function written into it), which bin/berth.js
// runs: one module to load instead of hundreds halves the time `berth serve` needs to be ready.
// CommonJS so that it can be compiled with V8's code cache, which this script writes next to it
// (dist/berth.cjs.cache, see bin/load-bundle.js): that takes another ~150 ms off every start.
// Native modules and drivers loaded on demand stay outside (better-sqlite3, argon2, pg, the AWS
// SDK, dockerode, ws), and so do the S3 driver and the large libraries only some configurations use
// (the LDAP client, X.509), which are imported dynamically: bundled, they would be parsed at every
// start. Whitespace and syntax are minified; names are kept, so stack traces stay readable.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/berth.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
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
  // The one use of import.meta (finding the package's folder) gets the bundle's own URL.
  define: { 'import.meta.url': 'berthBundleUrl' },
  banner: { js: "const berthBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [
    {
      // Zod's error messages in its 40-odd languages (300 KB, a tenth of the bundle, read at every
      // start): Berth's errors are in English, so the locales namespace offers English alone.
      name: 'zod-english-only',
      setup(b) {
        b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
          args.importer.includes(`${path.sep}zod${path.sep}`)
            ? {
                path: path.join(path.dirname(args.importer), '../locales/index.js'),
                namespace: 'zod-locales',
              }
            : undefined,
        );
        b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
          contents: `export { default as en } from ${JSON.stringify(path.join(path.dirname(args.path), 'en.js'))};`,
          resolveDir: path.dirname(args.path),
        }));
      },
    },
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
  // License notices go to dist/berth.cjs.LEGAL.txt: the bundle itself stays pure ASCII, which
  // lets bin/load-bundle.js read it as Latin-1 (a copy, not a UTF-8 decode: ~30 ms a start).
  legalComments: 'external',
  logLevel: 'warning',
});

// Dynamic imports call the loader's `berthImport` (see bin/load-bundle.js for why); one the
// rewrite cannot see (a specifier that is not a literal) fails the build rather than a start.
const bundled = readFileSync('dist/berth.cjs', 'utf8');
const DYNAMIC_IMPORT = /(?<![\w$.])import\((?=["'])/g;
const rewritten = bundled.replace(DYNAMIC_IMPORT, 'berthImport(');
if (/(?<![\w$.])import\(/.test(rewritten))
  throw new Error('dist/berth.cjs has a dynamic import() whose specifier is not a string literal');
// eslint-disable-next-line no-control-regex
if (/[^\x00-\x7f]/.test(rewritten))
  throw new Error('dist/berth.cjs is not pure ASCII: bin/load-bundle.js reads it as Latin-1');
// The CommonJS wrapper goes into the file (bin/load-bundle.js compiles the file as it is): a
// wrapper added at each start made V8 copy the whole 3.4 MB source into its heap, and the string
// read from disk lingered beside the copy until a full collection (3.4 MiB of resident memory).
// The last build's cache goes first: a build stopped between the bundle and its cache leaves no
// cache (every start compiles from source) rather than one for another bundle (see compile in
// bin/load-bundle.js: V8 would accept it if the lengths matched).
rmSync('dist/berth.cjs.cache', { force: true });
writeFileSync(
  'dist/berth.cjs',
  `(function (exports, require, module, __filename, __dirname, berthImport) { ${rewritten}\n});`,
);

/**
 * Why `berth serve` from the bundle fails to answer `/v2/` on a scratch data directory, or
 * undefined when it answers (then it is stopped).
 */
async function servingFailure(env) {
  const data = mkdtempSync(path.join(tmpdir(), 'berth-bundle-check-'));
  const child = spawn(
    process.execPath,
    ['bin/berth.js', 'serve', '--data', data, '--listen', '127.0.0.1:0', '--auth', 'none'],
    { env: { ...env, BERTH_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  try {
    const address = await new Promise((resolve, reject) => {
      child.stderr.on('data', (d) => {
        stderr += d;
        const m = /serving the registry on (\S+)/.exec(stderr);
        if (m) resolve(m[1]);
      });
      child.once('exit', () => reject(new Error('it exited')));
    });
    const res = await globalThis.fetch(`${address}/v2/`);
    return res.status === 200 ? undefined : `/v2/ answered ${res.status}`;
  } catch (err) {
    return `${err.message}: ${stderr}`;
  } finally {
    child.kill();
    rmSync(data, { recursive: true, force: true });
  }
}

// The code cache, written by a Node process that loads the bundle as bin/berth.js does, then
// checked by serving with it. V8 (Node 20) now and then writes a cache it
// accepts but whose lazily compiled functions do not parse (seen twice in a row: every start
// failed with a SyntaxError); such a cache is written again.
// The writer serves on a scratch data directory (see writeCodeCache), so no setting of the
// environment may point it elsewhere (a database, a bucket, a configuration file).
const writerEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.startsWith('BERTH_')),
);
for (let attempt = 1; ; attempt += 1) {
  const cached = spawnSync(
    process.execPath,
    [
      '-e',
      "import('./bin/load-bundle.js').then((m) => m.writeCodeCache()).then(() => process.exit(0), (err) => { console.error(err); process.exit(1); })",
    ],
    { env: { ...writerEnv, BERTH_LOG_LEVEL: 'warn' }, encoding: 'utf8' },
  );
  if (cached.status !== 0) throw new Error(`writing the code cache failed: ${cached.stderr}`);
  const accepted = spawnSync(process.execPath, [
    '-e',
    "import('./bin/load-bundle.js').then((m) => process.exit(m.codeCacheAccepted() ? 0 : 3))",
  ]);
  // Rejected: a V8 flag changed before the cache was made (it would be rejected at every start).
  if (accepted.status !== 0) throw new Error('this Node rejects the code cache just written');
  const failure = await servingFailure(writerEnv);
  if (failure === undefined) break;
  if (attempt === 5) throw new Error(`berth serve does not start with its code cache: ${failure}`);
}
