/** Ranking repositories for a search: by name first (exact, prefix, word, substring), then description. */
import type { RepositoryInfo } from '../meta/index.js';

/** How well `info` matches `terms` (0: not at all). */
export function searchScore(info: RepositoryInfo, terms: string[]): number {
  if (terms.length === 0) return 1;
  const name = info.name.toLowerCase();
  const last = name.slice(name.lastIndexOf('/') + 1);
  const description = (info.description ?? '').toLowerCase();
  let score = 0;
  for (const term of terms) {
    let s = 0;
    if (name === term || last === term) s = 100;
    else if (last.startsWith(term)) s = 60;
    else if (name.split(/[/._-]/).some((part) => part.startsWith(term))) s = 40;
    else if (name.includes(term)) s = 25;
    else if (description.includes(term)) s = 10;
    if (s === 0) return 0;
    score += s;
  }
  return score;
}

/** The lower-case words of a search query. */
export function searchTerms(query: string): string[] {
  return query.toLowerCase().split(/\s+/).filter(Boolean);
}

/** The repositories matching `query` (words, all required), best first, then by name. */
export function rankRepositories(infos: RepositoryInfo[], query: string): RepositoryInfo[] {
  const terms = searchTerms(query);
  return infos
    .map((info) => ({ info, score: searchScore(info, terms) }))
    .filter((r) => r.score > 0)
    .sort((a, b) => b.score - a.score || (a.info.name < b.info.name ? -1 : 1))
    .map((r) => r.info);
}
