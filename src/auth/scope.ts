/** Docker token scopes (`repository:acme/app:pull,push`), parsed strictly and formatted back. */
import { isValidName, repositoryOfGun } from '../oci/index.js';

/** One requested or granted resource scope. */
export interface ResourceScope {
  /** `repository`, `registry`, … (a class such as `repository(plugin)` is kept verbatim). */
  type: string;
  name: string;
  actions: string[];
}

const TYPE = /^[a-z0-9]+(?:\([a-z0-9]+\))?$/;
const ACTION = /^(?:[a-z]+|\*)$/;

/** Parses one scope string; throws `Error` with a message naming what is wrong. */
export function parseScope(text: string): ResourceScope {
  const first = text.indexOf(':');
  const last = text.lastIndexOf(':');
  if (first <= 0 || last === first) throw new Error(`scope "${text}" is not type:name:actions`);
  const type = text.slice(0, first);
  const name = text.slice(first + 1, last);
  const actionText = text.slice(last + 1);
  if (!TYPE.test(type)) throw new Error(`scope "${text}" has an invalid resource type`);
  if (name === '') throw new Error(`scope "${text}" names no resource`);
  const actions = actionText.split(',');
  if (actionText === '' || !actions.every((a) => ACTION.test(a)))
    throw new Error(`scope "${text}" has invalid actions`);
  // A repository scope names a repository, or a Notary GUN (`host:port/team/app`) for trust data.
  if (type.startsWith('repository') && !isValidName(name) && repositoryOfGun(name) === undefined)
    throw new Error(`scope "${text}" names an invalid repository`);
  if (type === 'registry' && name !== 'catalog')
    throw new Error(`scope "${text}" names an unknown registry resource`);
  return { type, name, actions: [...new Set(actions)] };
}

/** Parses every scope of a request: each value may hold several scopes separated by spaces. */
export function parseScopes(values: string[]): ResourceScope[] {
  const scopes: ResourceScope[] = [];
  for (const value of values)
    for (const part of value.split(' ')) if (part !== '') scopes.push(parseScope(part));
  return scopes;
}

/** The scope string of `scope`. */
export function formatScope(scope: ResourceScope): string {
  return `${scope.type}:${scope.name}:${scope.actions.join(',')}`;
}
