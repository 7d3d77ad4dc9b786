/** Loading the configuration: defaults, then the YAML file, then BERTH_* variables, then flags. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configSchema, type BerthConfig } from './schema.js';

type Tree = Record<string, unknown>;

/** Where the configuration comes from. */
export interface ConfigSources {
  file?: string;
  env?: NodeJS.ProcessEnv;
  overrides?: Tree;
  /** Settings saved through the web UI / API (just above the defaults). */
  stored?: Tree;
}

/** Where a configuration value comes from, strongest last. */
export type ConfigSource = 'default' | 'ui' | 'file' | 'env' | 'flag';

function valueAt(tree: Tree, path: string[]): unknown {
  let node: unknown = tree;
  for (const key of path) {
    if (!isTree(node)) return undefined;
    node = node[key];
  }
  return node;
}

/**
 * A function telling which source supplies the value at a path (`['auth','tokenTtl']`); the
 * config file is read once, when this is called.
 */
export function sourceFinder(
  sources: ConfigSources,
): (path: string[], stored?: Tree) => ConfigSource {
  const env = sources.env ?? process.env;
  const file = sources.file ?? env.BERTH_CONFIG;
  const fileTree = file ? fromFile(file) : {};
  return (path, stored = sources.stored ?? {}) => {
    if (valueAt(sources.overrides ?? {}, path) !== undefined) return 'flag';
    if (env[envName(path)] !== undefined && env[envName(path)] !== '') return 'env';
    if (valueAt(fileTree, path) !== undefined) return 'file';
    if (valueAt(stored, path) !== undefined) return 'ui';
    return 'default';
  };
}

/** A tree from `a.b` keys: `{"auth.tokenTtl": 60}` → `{auth: {tokenTtl: 60}}`. */
export function treeOf(flat: Record<string, unknown>): Tree {
  let tree: Tree = {};
  for (const [key, value] of Object.entries(flat)) {
    const leaf = key.split('.').reduceRight<unknown>((acc, k) => ({ [k]: acc }), value) as Tree;
    tree = merge(tree, leaf);
  }
  return tree;
}

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: Tree, top: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(top)) {
    if (value === undefined) continue;
    out[key] = isTree(value) && isTree(out[key]) ? merge(out[key] as Tree, value) : value;
  }
  return out;
}

/** The environment variable for a key path: `['uploads','expiry']` → `BERTH_UPLOADS_EXPIRY`. */
export function envName(path: string[]): string {
  return ['BERTH', ...path.map((p) => p.replace(/([a-z])([A-Z])/g, '$1_$2'))]
    .join('_')
    .toUpperCase();
}

function keyPaths(shape: z.ZodRawShape, prefix: string[] = []): string[][] {
  const paths: string[][] = [];
  for (const [key, field] of Object.entries(shape)) {
    let inner: z.ZodType = field as z.ZodType;
    while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional) {
      inner = (inner as z.ZodDefault<z.ZodType>).unwrap() as z.ZodType;
    }
    if (inner instanceof z.ZodObject) paths.push(...keyPaths(inner.shape, [...prefix, key]));
    else paths.push([...prefix, key]);
  }
  return paths;
}

/** Every configuration key path, for documentation and the environment mapping. */
export const CONFIG_KEYS: string[][] = keyPaths(configSchema.shape);

function fromEnv(env: NodeJS.ProcessEnv): Tree {
  let tree: Tree = {};
  for (const path of CONFIG_KEYS) {
    const value = env[envName(path)];
    if (value === undefined || value === '') continue;
    const leaf = path.reduceRight<unknown>((acc, key) => ({ [key]: acc }), value) as Tree;
    tree = merge(tree, leaf);
  }
  return tree;
}

function fromFile(file: string): Tree {
  const doc: unknown = parseYaml(readFileSync(file, 'utf8'));
  if (doc === null || doc === undefined) return {};
  if (!isTree(doc)) throw new Error(`config file ${file} must be a YAML mapping`);
  return doc;
}

/** Builds the effective configuration, or throws with a message naming the bad key. */
export function loadConfig(sources: ConfigSources = {}): BerthConfig {
  const env = sources.env ?? process.env;
  const file = sources.file ?? env.BERTH_CONFIG;
  let tree: Tree = merge(sources.stored ?? {}, file ? fromFile(file) : {});
  tree = merge(tree, fromEnv(env));
  tree = merge(tree, sources.overrides ?? {});
  const result = configSchema.safeParse(tree);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(
      `invalid configuration at ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
  }
  return result.data;
}
