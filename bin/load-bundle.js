// Loads Berth's single-file build (dist/berth.cjs, made by scripts/bundle.mjs) with V8's code
// cache (dist/berth.cjs.cache, written at build time by the same Node): compiling the 3.4 MB
// bundle from source takes 100–200 ms of every start, and Node 20 has no module compile cache.
// A cache V8 rejects (another Node version or flags) is ignored and the source compiled as usual.
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { builtinModules, createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tmpdir } from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { capYoungGeneration, holdYoungGeneration } from './young-generation.js';
import { tuneMalloc } from './malloc-tuning.js';
import { collectWhenIdle } from './idle-collector.js';

const BUNDLE = fileURLToPath(import.meta.resolve('../dist/berth.cjs'));
const CACHE = `${BUNDLE}.cache`;
/** The built-in modules the bundle's top level loads (written with the code cache). */
const BUILTINS = `${BUNDLE}.builtins.json`;
const require = createRequire(import.meta.url);

/**
 * Loads the built-in modules the bundle's top level needs, before `holdYoungGeneration` changes a
 * V8 flag: Node compiles each built-in module loaded after a flag change without its own code
 * cache; loaded first, they keep it.
 */
function loadBuiltins() {
  let names = [];
  try {
    names = JSON.parse(readFileSync(BUILTINS, 'utf8'));
  } catch {
    // Not built yet: the bundle loads them itself.
  }
  for (const name of names) {
    try {
      require(name);
    } catch {
      // Not in this Node: the bundle's own require says so, if it needs it.
    }
  }
}

/** The public built-in modules this process has loaded. */
function loadedBuiltins() {
  const known = new Set(builtinModules);
  return (
    process.moduleLoadList
      .filter((entry) => entry.startsWith('NativeModule '))
      .map((entry) => entry.slice('NativeModule '.length))
      // Not the underscored internals (`_tls_wrap`, `_http_server`): the modules that load them
      // do so in their own order, which loading them first would break.
      .filter((name) => known.has(name) && !name.startsWith('_'))
      .map((name) => `node:${name}`)
  );
}

/**
 * Compiles the bundle (with the code cache when there is one V8 accepts, unless `fresh`); returns
 * the script. V8 checks a cache against the source's length only: one written for another bundle
 * of the same length is accepted, and the functions it has not compiled are then parsed at that
 * other bundle's offsets (a SyntaxError at their first call).
 */
function compile(fresh = false) {
  // The build guarantees pure ASCII, so Latin-1 reads it exactly, without decoding UTF-8; the
  // file is compiled as read (the build wrote the wrapper into it), so V8 keeps this one string
  // as the script's source and makes no copy of it.
  const source = readFileSync(BUNDLE, 'latin1');
  let cachedData;
  if (!fresh) {
    try {
      cachedData = readFileSync(CACHE);
    } catch {
      // No cache yet: compile from source.
    }
  }
  return new vm.Script(source, { filename: BUNDLE, cachedData });
}

// The file is a CommonJS wrapper with one parameter more: the bundle's dynamic imports call
// `berthImport` (scripts/bundle.mjs rewrites them), because in Node 20 a function compiled from a
// code cache loses the script's import() callback and its import() throws.

/** import() for the bundle: relative specifiers from the bundle's folder, bare ones from here. */
function importForBundle(specifier) {
  return import(
    specifier.startsWith('.')
      ? pathToFileURL(path.resolve(path.dirname(BUNDLE), specifier)).href
      : specifier
  );
}

/** Runs the bundle's top level as CommonJS and returns its exports. */
function evaluate(script) {
  const module = { exports: {}, filename: BUNDLE, id: BUNDLE };
  const wrapper = script.runInThisContext();
  wrapper.call(
    module.exports,
    module.exports,
    createRequire(BUNDLE),
    module,
    BUNDLE,
    path.dirname(BUNDLE),
    importForBundle,
  );
  return module.exports;
}

/**
 * Once `berth serve` answers: the young generation capped, the heap collected when idle (and the
 * pages of Node's executable that start-up read released at the first idle second).
 */
function answering() {
  capYoungGeneration();
  collectWhenIdle();
}

/**
 * Runs the command line of the bundle with `argv`. The young generation stays at its first size
 * until `berth serve` answers (any other command: until the top level has run), then is capped;
 * `berth serve` also sets glibc's allocator to give back what a burst of requests freed, and
 * collects the heap when it falls idle after one.
 */
export function runBundle(argv) {
  const serving = argv[2] === 'serve';
  if (serving) tuneMalloc();
  loadBuiltins();
  // Held after compiling: the code cache is checked against the V8 flags as they are then.
  const script = compile();
  holdYoungGeneration();
  const { main } = evaluate(script);
  if (!serving) capYoungGeneration();
  return main(argv, { serving: serving ? answering : undefined });
}

/** Answers once a GET of `url` has been answered 200 and read whole. */
function answered(url) {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      res.resume();
      res.once('end', () =>
        res.statusCode === 200 ? resolve() : reject(new Error(`${url}: ${res.statusCode}`)),
      );
    }).once('error', reject);
  });
}

/** Writes `file` whole or not at all, readable by every user (the server sets its own umask). */
function writeAtomically(file, content) {
  const temporary = `${file}.${process.pid}`;
  writeFileSync(temporary, content);
  chmodSync(temporary, 0o644);
  renameSync(temporary, file);
}

/**
 * Writes the code cache once the bundle has served: its top level evaluated, then `berth serve`
 * started on a scratch data directory (no auth, loopback) and `/v2/` answered, so the functions
 * every start runs up to its first answers are in the cache, not only the outermost code (a start
 * compiled those from source: 20-25 ms of the 75 from the top level's end to answering). Leaves
 * the server running: the caller exits. Run it without `BERTH_*` settings in the environment.
 */
export async function writeCodeCache() {
  // From the source alone: a cache beside the bundle may be an earlier build's (see compile), and
  // what V8 took from it would pass into the new one (seen: every command that `serve --auth
  // none` does not run failed with a SyntaxError, build after build).
  const script = compile(true);
  const { main } = evaluate(script);
  const data = mkdtempSync(path.join(tmpdir(), 'berth-code-cache-'));
  try {
    const serve = ['serve', '--data', data, '--listen', '127.0.0.1:0', '--auth', 'none'];
    const address = await new Promise((resolve, reject) => {
      main([process.execPath, BUNDLE, ...serve], { serving: resolve }).then(
        () => reject(new Error('berth serve ended before answering')),
        reject,
      );
    });
    for (let i = 0; i < 3; i += 1) await answered(`${address}/v2/`);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
  writeAtomically(CACHE, script.createCachedData());
  writeAtomically(BUILTINS, JSON.stringify(loadedBuiltins()));
}

/** Whether this Node accepts the build's code cache for the bundle (false when there is none). */
export function codeCacheAccepted() {
  const script = compile();
  return script.cachedDataRejected === false;
}
