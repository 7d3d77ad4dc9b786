/**
 * What the controller and a node's agent say to each other over the agent's WebSocket: JSON text
 * frames. The agent reports (hello, heartbeats, inventory snapshots, replies, stream chunks); the
 * controller asks (calls with an id, streams it can cancel). Messages from agents are checked with
 * these schemas before anything is done with them.
 */
import { z } from 'zod';

const text = z.string().max(4096);
const labels = z.record(z.string().max(256), z.string().max(4096));

/** What an engine says of itself. */
export const engineInfo = z
  .object({
    name: text,
    version: text,
    apiVersion: text,
    os: text,
    osType: text,
    arch: text,
    cpus: z.number().int().nonnegative(),
    memTotal: z.number().nonnegative(),
    labels: z.array(text).max(200),
    swarm: z.object({
      nodeId: text.nullable(),
      clusterId: text.nullable(),
      role: z.enum(['manager', 'worker']).nullable(),
      address: text.nullable(),
    }),
  })
  .strict();

/** An engine's description. */
export type EngineInfo = z.infer<typeof engineInfo>;

const port = z.object({
  privatePort: z.number().int(),
  publicPort: z.number().int().nullable(),
  type: text,
  ip: text.nullable(),
});

/** One container as the inventory keeps it. */
export const containerSummary = z.object({
  id: text,
  names: z.array(text).max(50),
  image: text,
  imageId: text,
  state: text,
  status: text,
  created: z.number(),
  ports: z.array(port).max(500),
  labels,
});

/** A container in a snapshot. */
export type ContainerSummary = z.infer<typeof containerSummary>;

/** Everything one engine holds, at one moment. */
export const snapshot = z.object({
  at: z.number(),
  containers: z.array(containerSummary).max(20_000),
  images: z
    .array(
      z.object({
        id: text,
        repoTags: z.array(text).max(500),
        repoDigests: z.array(text).max(500),
        size: z.number(),
        created: z.number(),
      }),
    )
    .max(20_000),
  networks: z.array(z.object({ id: text, name: text, driver: text, scope: text })).max(5_000),
  volumes: z.array(z.object({ name: text, driver: text })).max(20_000),
  swarm: z
    .object({
      nodes: z
        .array(
          z.object({
            id: text,
            hostname: text,
            role: text,
            availability: text,
            state: text,
            address: text,
          }),
        )
        .max(5_000),
      services: z
        .array(
          z.object({
            id: text,
            name: text,
            image: text,
            replicas: z.number().int().nullable(),
            labels,
          }),
        )
        .max(5_000),
      tasks: z
        .array(
          z.object({
            id: text,
            serviceId: text,
            nodeId: text,
            slot: z.number().int().nullable(),
            state: text,
            desiredState: text,
            containerId: text.nullable(),
            error: text.nullable(),
          }),
        )
        .max(50_000),
    })
    .nullable(),
});

/** An engine's inventory snapshot. */
export type Snapshot = z.infer<typeof snapshot>;

/** A message from an agent. */
export const agentMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), engine: engineInfo, memFree: z.number().nullable() }),
  z.object({
    type: z.literal('heartbeat'),
    engineOk: z.boolean(),
    engineError: text.nullable(),
    memFree: z.number().nullable(),
  }),
  z.object({ type: z.literal('inventory'), snapshot }),
  z.object({
    type: z.literal('reply'),
    id: z.number().int(),
    ok: z.boolean(),
    result: z.unknown().optional(),
    error: text.optional(),
    /** The engine's HTTP status for a refusal (404 no such container, 409 conflict). */
    status: z.number().int().optional(),
  }),
  z.object({ type: z.literal('chunk'), id: z.number().int(), data: z.string().max(1 << 20) }),
  z.object({ type: z.literal('end'), id: z.number().int(), error: text.optional() }),
]);

/** A message from an agent, checked. */
export type AgentMessage = z.infer<typeof agentMessage>;

/** What the controller asks an agent to do. */
export type AgentOperation =
  | 'run'
  | 'start'
  | 'stop'
  | 'restart'
  | 'remove'
  | 'logs'
  | 'stats'
  | 'service.create'
  | 'service.scale';

/** A message from the controller. */
export type ControllerMessage =
  | { type: 'settings'; heartbeatMs: number; snapshotMs: number }
  | { type: 'call'; id: number; op: AgentOperation; args: Record<string, unknown> }
  | { type: 'stream'; id: number; op: 'logs' | 'stats'; args: Record<string, unknown> }
  | { type: 'cancel'; id: number };

/** Registry credentials an engine pulls with (Docker's X-Registry-Auth). */
export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/** The arguments of `run`. */
export interface RunArgs {
  image: string;
  name?: string;
  command?: string[];
  env?: string[];
  labels: Record<string, string>;
  network?: string;
  auth?: RegistryAuth;
}

/** The arguments of `service.create`. */
export interface ServiceArgs {
  name: string;
  image: string;
  replicas: number;
  command?: string[];
  labels: Record<string, string>;
  auth?: RegistryAuth;
}
