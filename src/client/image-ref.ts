/** Image references as people type them: `host[:port]/repository[:tag][@digest]`. */
import { isValidName, isValidTag, parseDigest } from '../oci/index.js';

/** A parsed image reference. */
export interface ImageRef {
  /** `host` or `host:port`. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** What the manifest request asks for: the digest when given, else the tag (default `latest`). */
export function referenceOf(ref: ImageRef): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** The reference written back as text. */
export function formatImageRef(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

function looksLikeHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

/** Parses `text`; throws an Error naming what is wrong. With `repositoryOnly`, no tag or digest. */
export function parseImageRef(text: string, options: { repositoryOnly?: boolean } = {}): ImageRef {
  const slash = text.indexOf('/');
  if (slash < 0 || !looksLikeHost(text.slice(0, slash)))
    throw new Error(`${text}: name the registry too, e.g. 127.0.0.1:5000/${text}`);
  const registry = text.slice(0, slash);
  let rest = text.slice(slash + 1);
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = parseDigest(rest.slice(at + 1)).value;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) throw new Error(`${text}: invalid tag ${tag}`);
  }
  if (!isValidName(rest)) throw new Error(`${text}: invalid repository name ${rest}`);
  if (options.repositoryOnly && (tag || digest))
    throw new Error(`${text}: name a repository, without a tag or digest`);
  return { registry, repository: rest, tag, digest };
}
