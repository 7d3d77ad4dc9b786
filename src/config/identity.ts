/**
 * The settings of a directory identity provider (LDAP, Active Directory, FreeIPA), shared by the
 * configuration file and the providers saved through the API and the settings page. A `preset`
 * fills in the conventions of a kind of directory; anything given explicitly wins over it.
 */
import { z } from 'zod';

/** The kinds of directory with a preset. */
export const DIRECTORY_PRESETS = ['openldap', 'active-directory', 'freeipa'] as const;

/** A kind of directory with a preset. */
export type DirectoryPreset = (typeof DIRECTORY_PRESETS)[number];

interface PresetValues {
  userFilter: string;
  loginAttribute: string;
  idAttribute: string;
  mailAttribute: string;
  nameAttribute: string;
  groups: { strategy: string; filter: string; memberAttribute: string };
}

/** What each preset fills in. */
export const PRESETS: Record<DirectoryPreset, PresetValues> = {
  openldap: {
    userFilter: '(objectClass=inetOrgPerson)',
    loginAttribute: 'uid',
    idAttribute: 'entryUUID',
    mailAttribute: 'mail',
    nameAttribute: 'cn',
    groups: { strategy: 'auto', filter: '(objectClass=groupOfNames)', memberAttribute: 'member' },
  },
  'active-directory': {
    // People, not computers, and not disabled (userAccountControl's ACCOUNTDISABLE bit).
    userFilter:
      '(&(objectCategory=person)(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))',
    loginAttribute: 'sAMAccountName',
    idAttribute: 'objectGUID',
    mailAttribute: 'mail',
    nameAttribute: 'displayName',
    groups: { strategy: 'ad-nested', filter: '(objectClass=group)', memberAttribute: 'member' },
  },
  freeipa: {
    userFilter: '(objectClass=posixAccount)',
    loginAttribute: 'uid',
    idAttribute: 'ipaUniqueID',
    mailAttribute: 'mail',
    nameAttribute: 'cn',
    groups: {
      strategy: 'memberOf',
      filter: '(objectClass=groupOfNames)',
      memberAttribute: 'member',
    },
  },
};

/** Fills a raw provider's missing keys from its preset (groups key by key). */
function withPreset(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const given = raw as Record<string, unknown>;
  const preset = PRESETS[given.preset as DirectoryPreset] as PresetValues | undefined;
  if (!preset) return raw;
  const groups = given.groups;
  return {
    ...preset,
    ...given,
    groups:
      typeof groups === 'object' && groups !== null
        ? { ...preset.groups, ...(groups as object) }
        : preset.groups,
  };
}

const groupSettings = z
  .object({
    /**
     * `memberOf` (the user's attribute), `member-search` (groups naming the user), `ad-nested`
     * (Active Directory's transitive matching rule), `recursive` (groups of groups, to `depth`),
     * or `auto`: `memberOf` when the user entry carries it, a member search otherwise.
     */
    strategy: z
      .enum(['auto', 'memberOf', 'member-search', 'ad-nested', 'recursive'])
      .default('auto'),
    base: z.string().min(1).optional(),
    filter: z.string().min(1).default('(objectClass=groupOfNames)'),
    /** `member`, `uniqueMember` (DNs) or `memberUid` (logins). */
    memberAttribute: z.string().min(1).default('member'),
    depth: z.number().int().min(1).max(20).default(5),
  })
  .strict();

const GROUP_DEFAULTS = groupSettings.parse({});

/** A group → team (or administrator) mapping. */
export const groupMappingSchema = z
  .object({
    group: z.string().min(1),
    org: z.string().min(1).optional(),
    team: z.string().min(1).optional(),
    admin: z.boolean().optional(),
  })
  .strict()
  .refine((m) => m.admin === true || (m.org !== undefined && m.team !== undefined), {
    message: 'a mapping names an org and a team, or admin: true',
  });

/** One directory provider's settings as written out in full (no preset applied). */
export const directoryProviderFields = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9-]{1,32}$/, 'provider names are a-z, 0-9 and - (up to 32)')
      .refine((n) => n !== 'local', 'local is the name of local accounts'),
    kind: z.literal('ldap').default('ldap'),
    preset: z.enum(DIRECTORY_PRESETS).optional(),
    /** Login order among all providers (lower first; file providers default to their place). */
    order: z.number().int().min(0).max(10_000).optional(),
    /** `ldap://` or `ldaps://` URLs, tried in order. */
    urls: z.array(z.string().regex(/^ldaps?:\/\/[^\s]+$/, 'an ldap:// or ldaps:// URL')).min(1),
    startTls: z.boolean().default(false),
    /** CA certificates for LDAPS and StartTLS: a PEM file, or the PEM text itself. */
    caFile: z.string().min(1).optional(),
    ca: z.string().includes('-----BEGIN CERTIFICATE-----').optional(),
    bindDn: z.string().min(1),
    /** In the clear, or `sealed:…` (from `berth idp seal-password`). */
    bindPassword: z.string().min(1),
    userBase: z.string().min(1),
    userScope: z.enum(['sub', 'one']).default('sub'),
    userFilter: z.string().min(1).default('(objectClass=person)'),
    loginAttribute: z.string().min(1).default('uid'),
    /** The attribute holding the stable id (`entryUUID`, `objectGUID`; `dn` for the DN). */
    idAttribute: z.string().min(1).default('entryUUID'),
    mailAttribute: z.string().min(1).default('mail'),
    nameAttribute: z.string().min(1).default('cn'),
    groups: groupSettings.default(GROUP_DEFAULTS),
    mappings: z.array(groupMappingSchema).max(500).default([]),
    /** Milliseconds to connect (and bind), and for each search. */
    connectTimeoutMs: z.number().int().positive().max(120_000).default(5_000),
    searchTimeoutMs: z.number().int().positive().max(300_000).default(10_000),
  })
  .strict()
  .refine((p) => !(p.startTls && p.urls.some((u) => u.startsWith('ldaps:'))), {
    message: 'startTls is for ldap:// URLs; ldaps:// is TLS already',
  });

/** One directory provider's settings, its preset's conventions filling what is not given. */
export const directoryProviderSchema = z.preprocess(withPreset, directoryProviderFields);

/** One directory provider's settings, validated (presets applied). */
export type DirectoryProviderSettings = z.infer<typeof directoryProviderSchema>;
