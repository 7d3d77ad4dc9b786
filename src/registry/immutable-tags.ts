/**
 * Immutable tags: a tag a rule covers can be created once and then never moved to another
 * manifest or deleted (pushing the same manifest again is fine). Rules apply to a repository
 * (`acme/app`) or a namespace (`acme/`); tag patterns are whole-tag regular expressions, with
 * exclusions (`latest`). cosign's tag scheme (`sha256-<hex>.sig|.att|.sbom`) is never frozen, so
 * signatures and attestations keep working. Only an administrator removing the rule lifts it.
 */
import type { ImmutableRuleRecord, Meta } from '../meta/index.js';

/** Rules are re-read at most this often (milliseconds). */
const RECHECK_MS = 2_000;

/** Tags cosign moves as signatures and attestations are added. */
const COSIGN_TAG = /^sha256-[0-9a-f]{64}\.(sig|att|sbom)$/;

const whole = (pattern: string) => new RegExp(`^(?:${pattern})$`);

/** Which tags are immutable. */
export class ImmutableTags {
  private rules: ImmutableRuleRecord[] = [];
  private loadedAt = 0;

  constructor(private readonly meta: Meta) {}

  /** Forgets the rules read (after a change in this process). */
  invalidate(): void {
    this.loadedAt = 0;
  }

  /** The rule that freezes `tag` of `repository`, or undefined. */
  async ruleFor(repository: string, tag: string): Promise<ImmutableRuleRecord | undefined> {
    if (COSIGN_TAG.test(tag)) return undefined;
    if (Date.now() - this.loadedAt > RECHECK_MS) {
      this.rules = await this.meta.immutableRules.list();
      this.loadedAt = Date.now();
    }
    return this.rules.find(
      (r) =>
        (r.scope === repository || (r.scope.endsWith('/') && repository.startsWith(r.scope))) &&
        r.patterns.some((p) => whole(p).test(tag)) &&
        !r.exclusions.some((x) => whole(x).test(tag)),
    );
  }

  /** Says why a rule freezes `tag` of `repository`. */
  static reason(repository: string, tag: string, rule: ImmutableRuleRecord): string {
    return `${repository}:${tag} is immutable (rule ${rule.id} on ${rule.scope}): it cannot be moved or deleted`;
  }
}
