/**
 * The directory providers in force: those of the configuration file (fixed while Berth runs) and
 * those saved through the API or the settings page (read from the database, so every replica sees
 * a change within seconds), in login order. Saved bind passwords are sealed with the master key.
 */
import { directoryProviderSchema, type DirectoryProviderSettings } from '../config/index.js';
import type { SecretBox } from '../kit/index.js';
import type { Meta, StoredProvider } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import type { IdentityProvider } from './identity-provider.js';

/** A directory group that gives team membership (or administrator rights). */
export interface GroupMapping {
  /** A group DN, or its name (the first RDN's value). */
  group: string;
  org?: string;
  team?: string;
  admin?: boolean;
}

/** A provider in force with its group mappings. */
export interface ConfiguredProvider {
  provider: IdentityProvider;
  mappings: GroupMapping[];
  /** Login order: lower first. */
  order: number;
  /** `file`: from the configuration file (read-only here); `saved`: through the API or UI. */
  source: 'file' | 'saved';
  /** The settings without the bind password (for showing and editing). */
  settings: Omit<DirectoryProviderSettings, 'bindPassword'>;
}

/** Makes a provider from validated settings (the bind password in the clear). */
export type ProviderFactory = (settings: DirectoryProviderSettings) => IdentityProvider;

/** The label a provider's bind password is sealed under. */
export function bindPasswordLabel(provider: string): string {
  return `identity:${provider}:bind-password`;
}

/** Saved providers are re-read at most this often (milliseconds). */
const RECHECK_MS = 2_000;

const withoutPassword = ({
  bindPassword: _secret,
  ...rest
}: DirectoryProviderSettings): Omit<DirectoryProviderSettings, 'bindPassword'> => rest;

/** The providers in force, file and saved, in login order. */
export class ProviderCatalog {
  private readonly fromFile: ConfiguredProvider[];
  private saved: ConfiguredProvider[] = [];
  /** Saved providers that could not be used, and why. */
  private unusable: { name: string; problem: string }[] = [];
  private savedVersion: string | undefined;
  private checkedAt = 0;

  constructor(
    private readonly meta: Meta,
    file: DirectoryProviderSettings[],
    private readonly make: ProviderFactory,
    private readonly box?: SecretBox,
  ) {
    this.fromFile = file.map((settings, index) => ({
      provider: make(settings),
      mappings: settings.mappings,
      order: settings.order ?? index,
      source: 'file',
      settings: withoutPassword(settings),
    }));
  }

  /** Whether `name` comes from the configuration file. */
  inFile(name: string): boolean {
    return this.fromFile.some((p) => p.provider.name === name);
  }

  /** Every provider in force, in login order (file before saved at the same order). */
  async current(): Promise<ConfiguredProvider[]> {
    await this.refresh();
    return [...this.fromFile, ...this.saved].sort((a, b) => a.order - b.order);
  }

  /** Forgets what was read, so the next look reads the saved providers again. */
  invalidate(): void {
    this.checkedAt = 0;
    this.savedVersion = undefined;
  }

  /** Seals `password` as provider `name`'s bind password; UNSUPPORTED without a master key. */
  seal(name: string, password: string): string {
    if (!this.box)
      throw new BerthError('UNSUPPORTED', 'saving a provider needs the master key (auth mode)');
    return this.box.seal(Buffer.from(password), bindPasswordLabel(name));
  }

  /** Opens provider `name`'s sealed bind password. */
  open(name: string, sealed: string): string {
    if (!this.box) throw new BerthError('UNSUPPORTED', 'no master key to open a bind password');
    return this.box.open(sealed, bindPasswordLabel(name)).toString();
  }

  private async refresh(): Promise<void> {
    const now = Date.now();
    if (now - this.checkedAt < RECHECK_MS) return;
    this.checkedAt = now;
    const version = await this.meta.identityProviders.version();
    if (version === this.savedVersion) return;
    const rows = await this.meta.identityProviders.list();
    this.unusable = [];
    this.saved = rows.flatMap((row) => {
      const made = this.fromRow(row);
      if (typeof made === 'string') {
        this.unusable.push({ name: row.name, problem: made });
        return [];
      }
      return made;
    });
    this.savedVersion = version;
  }

  /** Saved providers that cannot be used (a name the file took, a password that will not open). */
  async problems(): Promise<{ name: string; problem: string }[]> {
    await this.refresh();
    return this.unusable;
  }

  private fromRow(row: StoredProvider): ConfiguredProvider | string {
    if (this.inFile(row.name)) return 'the configuration file has a provider of this name';
    let password: string;
    try {
      password = this.open(row.name, row.sealedBindPassword);
    } catch {
      return 'its bind password does not open with this master key';
    }
    const parsed = directoryProviderSchema.safeParse({
      ...row.settings,
      name: row.name,
      order: row.position,
      bindPassword: password,
    });
    if (!parsed.success) return parsed.error.issues.map((i) => i.message).join('; ');
    return {
      provider: this.make(parsed.data),
      mappings: parsed.data.mappings,
      order: row.position,
      source: 'saved',
      settings: withoutPassword(parsed.data),
    };
  }
}
