/** `berth user|org|team|repo|token|audit …`: account management on the data directory. */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { registerIdentityCommands } from './idp-commands.js';
import {
  printRows,
  readStdinSecret,
  say,
  withDataFlags,
  withDirectory,
  type ConfigFrom,
} from './directory.js';

type Level = 'read' | 'write' | 'admin';
type Flags = { config?: string; data?: string; json?: boolean } & Record<string, unknown>;

function levelOf(value: string): Level {
  if (value !== 'read' && value !== 'write' && value !== 'admin')
    throw new Error(`level must be read, write or admin, not ${value}`);
  return value;
}

function userCommands(program: Command, configFrom: ConfigFrom): void {
  const user = program.command('user').description('local user accounts');
  withDataFlags(user.command('add <name>').description('create a user'))
    .option('--admin', 'make them an administrator', false)
    .option('--email <email>', 'their email address')
    .option(
      '--password-stdin',
      'read the password from standard input (else one is generated)',
      false,
    )
    .action(async (name: string, f: Flags) => {
      const generated = f.passwordStdin ? undefined : randomBytes(12).toString('base64url');
      const password = generated ?? (await readStdinSecret());
      await withDirectory(configFrom(f), (auth, actor) =>
        auth.users.create(actor, {
          name,
          password,
          admin: Boolean(f.admin),
          email: (f.email as string) ?? null,
        }),
      );
      say(generated ? `created user ${name} with password ${generated}` : `created user ${name}`);
    });
  withDataFlags(user.command('list').description('list users'))
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const users = await withDirectory(configFrom(f), (auth, actor) => auth.users.list(actor));
      printRows(
        users as never,
        ['name', 'admin', 'disabled', 'email', 'createdAt'],
        Boolean(f.json),
      );
    });
  withDataFlags(
    user.command('passwd <name>').description("set a user's password (from standard input)"),
  ).action(async (name: string, f: Flags) => {
    const password = await readStdinSecret();
    await withDirectory(configFrom(f), (auth, actor) =>
      auth.users.update(actor, name, { password }),
    );
    say(`changed the password of ${name}`);
  });
  withDataFlags(
    user
      .command('rm <name>')
      .description('delete a user (refused while repositories live under their name)'),
  )
    .option('--delete-repositories', "delete the repositories under the user's name")
    .option('--transfer-to <account>', "move the repositories under the user's name to <account>")
    .action(async (name: string, f: Flags) => {
      const disposal = f.transferTo
        ? ({ repositories: 'transfer', to: String(f.transferTo) } as const)
        : f.deleteRepositories
          ? ({ repositories: 'delete' } as const)
          : ({ repositories: 'refuse' } as const);
      await withDirectory(configFrom(f), (auth, actor) => auth.users.delete(actor, name, disposal));
      say(
        `deleted user ${name}; the name stays reserved until freed with \`berth user free-name\``,
      );
    });
  withDataFlags(
    user.command('free-name <name>').description("let a deleted account's name be taken again"),
  ).action(async (name: string, f: Flags) => {
    await withDirectory(configFrom(f), (auth, actor) => auth.users.freeName(actor, name));
    say(`freed the name ${name}`);
  });
}

function orgCommands(program: Command, configFrom: ConfigFrom): void {
  const org = program.command('org').description('organisations');
  withDataFlags(org.command('create <name>').description('create an organisation'))
    .requiredOption('--owner <user>', 'its first owner')
    .action(async (name: string, f: Flags) => {
      await withDirectory(configFrom(f), (auth, actor) =>
        auth.orgs.create(actor, name, f.owner as string),
      );
      say(`created organisation ${name} owned by ${String(f.owner)}`);
    });
  withDataFlags(
    org.command('add-member <org> <user>').description('add a member (or change their role)'),
  )
    .option('--owner', 'make them an owner', false)
    .action(async (name: string, userName: string, f: Flags) => {
      const role = f.owner ? 'owner' : 'member';
      await withDirectory(configFrom(f), (auth, actor) =>
        auth.orgs.setMember(actor, name, userName, role),
      );
      say(`${userName} is now ${role === 'owner' ? 'an owner' : 'a member'} of ${name}`);
    });
  withDataFlags(org.command('list').description('list organisations'))
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const orgs = await withDirectory(configFrom(f), (auth, actor) => auth.orgs.list(actor));
      printRows(orgs as never, ['name', 'defaultLevel', 'createdAt'], Boolean(f.json));
    });
}

function teamCommands(program: Command, configFrom: ConfigFrom): void {
  const team = program.command('team').description('teams of an organisation');
  withDataFlags(team.command('create <org> <team>').description('create a team'))
    .option('--description <text>', 'what the team is for')
    .action(async (org: string, name: string, f: Flags) => {
      await withDirectory(configFrom(f), (auth, actor) =>
        auth.orgs.createTeam(actor, org, name, (f.description as string) ?? null),
      );
      say(`created team ${org}/${name}`);
    });
  withDataFlags(
    team.command('add-member <org> <team> <user>').description('add a user to a team'),
  ).action(async (org: string, name: string, userName: string, f: Flags) => {
    await withDirectory(configFrom(f), (auth, actor) =>
      auth.orgs.addTeamMember(actor, org, name, userName),
    );
    say(`added ${userName} to ${org}/${name}`);
  });
  withDataFlags(
    team
      .command('grant <org> <team> <level>')
      .description("set the team's level on every repository of the organisation"),
  ).action(async (org: string, name: string, level: string, f: Flags) => {
    const chosen = level === 'none' ? null : levelOf(level);
    await withDirectory(configFrom(f), (auth, actor) =>
      auth.orgs.setTeamLevel(actor, org, name, chosen),
    );
    say(`team ${org}/${name} now has ${level} access to ${org}/*`);
  });
}

function repoCommands(program: Command, configFrom: ConfigFrom): void {
  const repo = program.command('repo').description('repositories');
  withDataFlags(repo.command('create <name>').description('create an empty repository'))
    .option('--private', 'only people granted access see it')
    .option('--public', 'anyone may pull it')
    .option('--description <markdown>', 'its description')
    .action(async (name: string, f: Flags) => {
      if (f.private && f.public) throw new Error('choose --private or --public, not both');
      const visibility = f.public ? 'public' : f.private ? 'private' : undefined;
      const view = await withDirectory(configFrom(f), (auth, actor) =>
        auth.repositories.create(actor, name, {
          visibility,
          description: (f.description as string) ?? null,
        }),
      );
      say(`created ${view.visibility} repository ${name}`);
    });
  withDataFlags(repo.command('list').description('list repositories'))
    .option('--namespace <ns>', 'only this namespace')
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const repos = await withDirectory(configFrom(f), (auth, actor) =>
        auth.repositories.list(actor.principal, {
          limit: 10_000,
          namespace: f.namespace as string | undefined,
        }),
      );
      printRows(repos as never, ['name', 'visibility', 'createdBy', 'createdAt'], Boolean(f.json));
    });
  withDataFlags(
    repo
      .command('visibility <name> <visibility>')
      .description('make a repository public or private'),
  ).action(async (name: string, visibility: string, f: Flags) => {
    if (visibility !== 'public' && visibility !== 'private')
      throw new Error('visibility is public or private');
    await withDirectory(configFrom(f), (auth, actor) =>
      auth.repositories.update(actor, name, { visibility }),
    );
    say(`${name} is now ${visibility}`);
  });
  withDataFlags(
    repo.command('grant <name> <level>').description('grant a user or team a level (or none)'),
  )
    .option('--user <user>', 'the user')
    .option('--team <org/team>', 'the team')
    .action(async (name: string, level: string, f: Flags) => {
      if (!f.user === !f.team) throw new Error('name exactly one of --user and --team');
      const chosen = level === 'none' ? null : levelOf(level);
      const who = { user: f.user as string | undefined, team: f.team as string | undefined };
      await withDirectory(configFrom(f), (auth, actor) =>
        auth.repositories.setPermission(actor, name, who, chosen),
      );
      say(`${String(f.user ?? f.team)} now has ${level} access to ${name}`);
    });
  withDataFlags(repo.command('rm <name>').description('delete a repository')).action(
    async (name: string, f: Flags) => {
      await withDirectory(configFrom(f), (auth, actor) => auth.repositories.delete(actor, name));
      say(`deleted repository ${name}; its blobs go at the next gc`);
    },
  );
}

function tokenCommands(program: Command, configFrom: ConfigFrom): void {
  const token = program.command('token').description('personal access tokens');
  withDataFlags(token.command('create').description('create an access token (printed once)'))
    .requiredOption('--user <user>', 'whose token')
    .requiredOption('--name <name>', 'what it is for')
    .option('--level <level>', 'read, write or admin', 'read')
    .option('--expires <days>', 'days until it expires (default never)')
    .action(async (f: Flags) => {
      const created = await withDirectory(configFrom(f), (auth, actor) =>
        auth.accessTokens.create(actor, {
          user: f.user as string,
          name: f.name as string,
          level: levelOf(f.level as string),
          expiresInDays: f.expires === undefined ? null : Number(f.expires),
        }),
      );
      say(created.token);
    });
  withDataFlags(token.command('list').description("list a user's access tokens"))
    .requiredOption('--user <user>', 'whose tokens')
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const tokens = await withDirectory(configFrom(f), (auth, actor) =>
        auth.accessTokens.list(actor, f.user as string),
      );
      printRows(
        tokens as never,
        ['id', 'name', 'level', 'state', 'expiresAt', 'lastUsedAt'],
        Boolean(f.json),
      );
    });
  withDataFlags(token.command('revoke <id>').description('revoke an access token')).action(
    async (id: string, f: Flags) => {
      await withDirectory(configFrom(f), (auth, actor) =>
        auth.accessTokens.revoke(actor, Number(id)),
      );
      say(`revoked access token ${id}`);
    },
  );
}

function auditCommand(program: Command, configFrom: ConfigFrom): void {
  withDataFlags(program.command('audit').description('read the audit log, newest first'))
    .option('--actor <name>', 'only this actor')
    .option('--action <prefix>', 'only actions starting with this')
    .option('--target <name>', 'only this target')
    .option('-n, --limit <n>', 'at most this many entries', '50')
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const entries = await withDirectory(configFrom(f), (auth, actor) =>
        auth.auditLog.query(actor, {
          actor: f.actor as string | undefined,
          action: f.action as string | undefined,
          target: f.target as string | undefined,
          limit: Number(f.limit),
        }),
      );
      const rows = entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() }));
      printRows(rows, ['at', 'actor', 'action', 'target', 'outcome', 'address'], Boolean(f.json));
    });
}

/** Adds the account management commands to `program`. */
export function registerAccountCommands(program: Command, configFrom: ConfigFrom): void {
  userCommands(program, configFrom);
  orgCommands(program, configFrom);
  teamCommands(program, configFrom);
  repoCommands(program, configFrom);
  tokenCommands(program, configFrom);
  auditCommand(program, configFrom);
  registerIdentityCommands(program, configFrom);
}
