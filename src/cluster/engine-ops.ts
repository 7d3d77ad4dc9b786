/**
 * What an agent does to its Docker engine, through the Engine API (dockerode): describe it, take
 * an inventory snapshot, run and manage containers (pulling with the short-lived credential the
 * controller sends), read logs and stats, and create and scale Swarm services.
 */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { EngineInfo, RegistryAuth, RunArgs, ServiceArgs, Snapshot } from './protocol.js';

/** An engine refusal with the HTTP status it answered (404 no such container, 409 conflict). */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Rethrows an engine failure as an EngineError with its message and status. */
function engineError(err: unknown): never {
  const e = err as { statusCode?: number; json?: { message?: string }; message?: string };
  throw new EngineError(e.json?.message ?? e.message ?? String(err), e.statusCode ?? 500);
}

const guard = async <T>(work: Promise<T>): Promise<T> => {
  try {
    return await work;
  } catch (err) {
    engineError(err);
  }
};

/** The engine's description. */
export async function describeEngine(docker: Docker): Promise<EngineInfo> {
  const [info, version] = await Promise.all([docker.info(), docker.version()]);
  const swarm = (info.Swarm ?? {}) as {
    NodeID?: string;
    Cluster?: { ID?: string };
    ControlAvailable?: boolean;
    LocalNodeState?: string;
    NodeAddr?: string;
  };
  const inSwarm = swarm.LocalNodeState === 'active';
  return {
    name: String(info.Name ?? ''),
    version: String(version.Version ?? ''),
    apiVersion: String(version.ApiVersion ?? ''),
    os: String(info.OperatingSystem ?? ''),
    osType: String(info.OSType ?? ''),
    arch: String(info.Architecture ?? ''),
    cpus: Number(info.NCPU ?? 0),
    memTotal: Number(info.MemTotal ?? 0),
    labels: ((info.Labels as string[] | null) ?? []).map(String),
    swarm: {
      nodeId: inSwarm ? (swarm.NodeID ?? null) : null,
      clusterId: inSwarm ? (swarm.Cluster?.ID ?? null) : null,
      role: inSwarm ? (swarm.ControlAvailable ? 'manager' : 'worker') : null,
      address: inSwarm ? (swarm.NodeAddr ?? null) : null,
    },
  };
}

/** Everything the engine holds now (with the Swarm's nodes, services and tasks on a manager). */
export async function takeSnapshot(docker: Docker, manager: boolean): Promise<Snapshot> {
  const [containers, images, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true }),
    docker.listImages(),
    docker.listNetworks(),
    docker.listVolumes(),
  ]);
  let swarm: Snapshot['swarm'] = null;
  if (manager) {
    const [nodes, services, tasks] = await Promise.all([
      docker.listNodes(),
      docker.listServices(),
      docker.listTasks(),
    ]);
    swarm = {
      nodes: nodes.map((n) => ({
        id: String(n.ID),
        hostname: String(n.Description?.Hostname ?? ''),
        role: String(n.Spec?.Role ?? ''),
        availability: String(n.Spec?.Availability ?? ''),
        state: String(n.Status?.State ?? ''),
        address: String(n.Status?.Addr ?? ''),
      })),
      services: services.map((s) => ({
        id: String(s.ID),
        name: String(s.Spec?.Name ?? ''),
        image: String(
          (s.Spec?.TaskTemplate as { ContainerSpec?: { Image?: string } } | undefined)
            ?.ContainerSpec?.Image ?? '',
        ),
        replicas:
          s.Spec?.Mode?.Replicated?.Replicas === undefined
            ? null
            : Number(s.Spec.Mode.Replicated.Replicas),
        labels: (s.Spec?.Labels ?? {}) as Record<string, string>,
      })),
      tasks: tasks.map((t) => ({
        id: String(t.ID),
        serviceId: String(t.ServiceID ?? ''),
        nodeId: String(t.NodeID ?? ''),
        slot: t.Slot === undefined ? null : Number(t.Slot),
        state: String(t.Status?.State ?? ''),
        desiredState: String(t.DesiredState ?? ''),
        containerId: t.Status?.ContainerStatus?.ContainerID ?? null,
        error: t.Status?.Err ?? null,
      })),
    };
  }
  return {
    at: Date.now(),
    containers: containers.map((c) => ({
      id: c.Id,
      names: c.Names.map((n) => n.replace(/^\//, '')),
      image: c.Image,
      imageId: c.ImageID,
      state: c.State,
      status: c.Status,
      created: c.Created,
      ports: c.Ports.map((p) => ({
        privatePort: p.PrivatePort,
        publicPort: p.PublicPort ?? null,
        type: p.Type,
        ip: p.IP ?? null,
      })),
      labels: c.Labels ?? {},
    })),
    images: images.map((i) => ({
      id: i.Id,
      repoTags: i.RepoTags ?? [],
      repoDigests: i.RepoDigests ?? [],
      size: i.Size,
      created: i.Created,
    })),
    networks: networks.map((n) => ({
      id: n.Id,
      name: n.Name,
      driver: n.Driver,
      scope: n.Scope,
    })),
    volumes: (volumes.Volumes ?? []).map((v) => ({ name: v.Name, driver: v.Driver })),
    swarm,
  };
}

/** Pulls `image` with `auth`, waiting for the pull to finish. */
async function pull(docker: Docker, image: string, auth?: RegistryAuth): Promise<void> {
  const stream = await guard(
    docker.pull(image, auth ? { authconfig: auth } : {}) as Promise<NodeJS.ReadableStream>,
  );
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null, events: { error?: string }[]) => {
      const failed = events?.find((e) => e.error);
      if (err || failed)
        reject(new EngineError(`pulling ${image}: ${err?.message ?? failed?.error}`, 502));
      else resolve();
    }),
  );
}

/** Pulls `args.image` and runs a container from it; its id. */
export async function runContainer(docker: Docker, args: RunArgs): Promise<{ id: string }> {
  await pull(docker, args.image, args.auth);
  const container = await guard(
    docker.createContainer({
      Image: args.image,
      ...(args.name ? { name: args.name } : {}),
      ...(args.command && args.command.length > 0 ? { Cmd: args.command } : {}),
      Env: args.env ?? [],
      Labels: args.labels,
      HostConfig: args.network ? { NetworkMode: args.network } : {},
    }),
  );
  await guard(container.start());
  return { id: container.id };
}

/** Starts, stops, restarts or removes container `id`. */
export async function containerAction(
  docker: Docker,
  action: 'start' | 'stop' | 'restart' | 'remove',
  id: string,
): Promise<void> {
  const container = docker.getContainer(id);
  if (action === 'start') await guard(container.start());
  else if (action === 'stop') await guard(container.stop({ t: 10 }));
  else if (action === 'restart') await guard(container.restart({ t: 10 }));
  else await guard(container.remove({ force: true }));
}

/**
 * Container `id`'s logs (stdout and stderr, the last `tail` lines), to `onText`; with `follow`
 * until `signal` aborts. Resolves when they end.
 */
export async function containerLogs(
  docker: Docker,
  id: string,
  options: { tail: number; follow: boolean; signal?: AbortSignal },
  onText: (text: string) => void,
): Promise<void> {
  const container = docker.getContainer(id);
  const info = await guard(container.inspect());
  const logs = (await guard(
    container.logs({
      stdout: true,
      stderr: true,
      tail: options.tail,
      follow: options.follow as true,
    }) as unknown as Promise<NodeJS.ReadableStream | Buffer>,
  )) as NodeJS.ReadableStream | Buffer;
  const tty = Boolean(info.Config?.Tty);
  if (Buffer.isBuffer(logs)) {
    onText(tty ? logs.toString() : demuxBuffer(logs));
    return;
  }
  const out = new PassThrough();
  out.on('data', (d: Buffer) => onText(d.toString()));
  if (tty) logs.pipe(out);
  else docker.modem.demuxStream(logs, out, out);
  await new Promise<void>((resolve) => {
    const stop = () => {
      (logs as unknown as { destroy?: () => void }).destroy?.();
      resolve();
    };
    options.signal?.addEventListener('abort', stop, { once: true });
    logs.on('end', resolve);
    logs.on('close', resolve);
    logs.on('error', resolve);
  });
}

/** Stdout and stderr of a multiplexed (non-TTY) log buffer, in order. */
function demuxBuffer(buffer: Buffer): string {
  let text = '';
  for (let at = 0; at + 8 <= buffer.length;) {
    const size = buffer.readUInt32BE(at + 4);
    text += buffer.subarray(at + 8, at + 8 + size).toString();
    at += 8 + size;
  }
  return text;
}

/** One reading of container `id`'s resource use: CPU %, memory and network bytes. */
export async function containerStats(docker: Docker, id: string) {
  const s = (await guard(docker.getContainer(id).stats({ stream: false }))) as {
    cpu_stats?: {
      cpu_usage?: { total_usage?: number };
      system_cpu_usage?: number;
      online_cpus?: number;
    };
    precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
    memory_stats?: { usage?: number; limit?: number };
    networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
    pids_stats?: { current?: number };
  };
  const cpuDelta =
    (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const systemDelta =
    (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats?.online_cpus ?? 1;
  const networks = Object.values(s.networks ?? {});
  return {
    at: Date.now(),
    cpuPercent: systemDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0,
    memoryBytes: s.memory_stats?.usage ?? 0,
    memoryLimit: s.memory_stats?.limit ?? 0,
    rxBytes: networks.reduce((n, x) => n + (x.rx_bytes ?? 0), 0),
    txBytes: networks.reduce((n, x) => n + (x.tx_bytes ?? 0), 0),
    pids: s.pids_stats?.current ?? 0,
  };
}

/** Creates a replicated Swarm service (the engine must be a manager); its id. */
export async function createService(docker: Docker, args: ServiceArgs): Promise<{ id: string }> {
  const spec = {
    Name: args.name,
    Labels: args.labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: args.image,
        ...(args.command && args.command.length > 0 ? { Args: args.command } : {}),
        Labels: args.labels,
      },
    },
    Mode: { Replicated: { Replicas: args.replicas } },
  };
  const created = (await guard(
    args.auth ? docker.createService(args.auth, spec) : docker.createService(spec),
  )) as { id?: string; ID?: string };
  return { id: String(created.id ?? created.ID) };
}

/** Sets service `id`'s replicas (with `auth` so workers can pull). */
export async function scaleService(
  docker: Docker,
  id: string,
  replicas: number,
  auth?: RegistryAuth,
): Promise<void> {
  const service = docker.getService(id);
  const current = (await guard(service.inspect())) as {
    Version: { Index: number };
    Spec: Record<string, unknown> & { Mode?: { Replicated?: { Replicas?: number } } };
  };
  const spec = { ...current.Spec, Mode: { Replicated: { Replicas: replicas } } };
  await guard(
    // The engine wants the spec's version in the query and the spec alone in the body.
    service.update({
      _query: { version: current.Version.Index },
      _body: spec,
      ...(auth ? { authconfig: auth } : {}),
    }),
  );
}
