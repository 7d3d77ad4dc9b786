/**
 * The controller's side of the agents' connections: one link per connected node. It records what
 * agents report (hello, heartbeats, inventory snapshots) in the database, so every replica can
 * answer for nodes and inventory, and carries calls and streams to the node's agent. A node's
 * actions are served by the replica its agent is connected to.
 */
import type { Meta } from '../meta/index.js';
import type { Logger } from '../obs/index.js';
import { BerthError } from '../oci/index.js';
import { agentMessage, type AgentOperation, type ControllerMessage } from './protocol.js';

/** A connection to one agent, whatever carries it. */
export interface AgentLink {
  send(text: string): void;
  close(code: number, reason: string): void;
  onMessage(listener: (text: string) => void): void;
  onClose(listener: () => void): void;
}

/** How often agents report. */
export interface HubTimings {
  heartbeatMs: number;
  snapshotMs: number;
  /** Milliseconds a call waits for its reply. */
  callTimeoutMs: number;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

interface Stream {
  onChunk(data: string): void;
  done(error?: string): void;
}

interface Session {
  link: AgentLink;
  pending: Map<number, Pending>;
  streams: Map<number, Stream>;
}

/** A stream of chunks from an agent (logs, stats) and a way to stop it. */
export interface AgentStream {
  finished: Promise<void>;
  cancel(): void;
}

/** The agents connected to this process. */
export class AgentHub {
  private readonly sessions = new Map<string, Session>();
  private nextId = 1;

  constructor(
    private readonly meta: Meta,
    private readonly timings: HubTimings,
    private readonly logger: Logger,
  ) {}

  /** Whether node `nodeId`'s agent is connected here. */
  connected(nodeId: string): boolean {
    return this.sessions.has(nodeId);
  }

  /** Takes node `nodeId`'s new connection (an older one is closed). */
  attach(nodeId: string, link: AgentLink): void {
    this.sessions.get(nodeId)?.link.close(4000, 'replaced by a newer connection');
    const session: Session = { link, pending: new Map(), streams: new Map() };
    this.sessions.set(nodeId, session);
    link.onMessage((text) => {
      this.handle(nodeId, session, text).catch((err: unknown) =>
        this.logger.warn({ err, node: nodeId }, 'agent message'),
      );
    });
    link.onClose(() => {
      if (this.sessions.get(nodeId) === session) this.sessions.delete(nodeId);
      for (const p of session.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new BerthError('UNAVAILABLE', `node ${nodeId}'s agent disconnected`));
      }
      for (const s of session.streams.values()) s.done(`node ${nodeId}'s agent disconnected`);
    });
    this.send(session, {
      type: 'settings',
      heartbeatMs: this.timings.heartbeatMs,
      snapshotMs: this.timings.snapshotMs,
    });
  }

  /** Closes node `nodeId`'s connection (removed, revoked). */
  disconnect(nodeId: string, reason: string): void {
    this.sessions.get(nodeId)?.link.close(4001, reason);
  }

  /** Calls `op` on node `nodeId`'s agent; UNAVAILABLE when it is not connected here. */
  async call(nodeId: string, op: AgentOperation, args: Record<string, unknown>): Promise<unknown> {
    const session = this.session(nodeId);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        session.pending.delete(id);
        reject(new BerthError('UNAVAILABLE', `node ${nodeId} did not answer ${op} in time`));
      }, this.timings.callTimeoutMs);
      session.pending.set(id, { resolve, reject, timer });
      this.send(session, { type: 'call', id, op, args });
    });
  }

  /** Streams `op` from node `nodeId`'s agent to `onChunk` until it ends or is cancelled. */
  stream(
    nodeId: string,
    op: 'logs' | 'stats',
    args: Record<string, unknown>,
    onChunk: (data: string) => void,
  ): AgentStream {
    const session = this.session(nodeId);
    const id = this.nextId++;
    let finish!: (error?: string) => void;
    const finished = new Promise<void>((resolve, reject) => {
      finish = (error) => {
        session.streams.delete(id);
        if (error) reject(new BerthError('UNAVAILABLE', error));
        else resolve();
      };
    });
    session.streams.set(id, { onChunk, done: finish });
    this.send(session, { type: 'stream', id, op, args });
    return {
      finished,
      cancel: () => {
        if (!session.streams.has(id)) return;
        this.send(session, { type: 'cancel', id });
        finish();
      },
    };
  }

  /** Closes every connection (shutting down). */
  closeAll(): void {
    for (const s of this.sessions.values()) s.link.close(1001, 'controller shutting down');
  }

  private session(nodeId: string): Session {
    const session = this.sessions.get(nodeId);
    if (!session)
      throw new BerthError(
        'UNAVAILABLE',
        `node ${nodeId}'s agent is not connected (to this replica)`,
      );
    return session;
  }

  private send(session: Session, message: ControllerMessage): void {
    session.link.send(JSON.stringify(message));
  }

  private async handle(nodeId: string, session: Session, text: string): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      session.link.close(4002, 'not JSON');
      return;
    }
    const parsed = agentMessage.safeParse(raw);
    if (!parsed.success) {
      this.logger.warn({ node: nodeId, issue: parsed.error.issues[0] }, 'bad agent message');
      return;
    }
    const m = parsed.data;
    const now = Date.now();
    switch (m.type) {
      case 'hello':
        await this.meta.cluster.heartbeat(nodeId, {
          at: now,
          engineOk: true,
          engineError: null,
          memFree: m.memFree,
          engine: m.engine,
        });
        return;
      case 'heartbeat':
        await this.meta.cluster.heartbeat(nodeId, {
          at: now,
          engineOk: m.engineOk,
          engineError: m.engineError,
          memFree: m.memFree,
        });
        return;
      case 'inventory':
        await this.meta.cluster.saveInventory(nodeId, m.snapshot, now);
        return;
      case 'reply': {
        const p = session.pending.get(m.id);
        if (!p) return;
        session.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.ok) p.resolve(m.result);
        else {
          const code =
            m.status === 404 ? 'NOT_FOUND' : m.status === 409 ? 'CONFLICT' : 'UNAVAILABLE';
          p.reject(new BerthError(code, `node ${nodeId}: ${m.error ?? 'failed'}`));
        }
        return;
      }
      case 'chunk':
        session.streams.get(m.id)?.onChunk(m.data);
        return;
      case 'end':
        session.streams.get(m.id)?.done(m.error);
        return;
    }
  }
}
