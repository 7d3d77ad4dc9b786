/**
 * The bodies a webhook can be sent, chosen per webhook: Docker Hub's push payload, the
 * distribution notification envelope, or a CloudEvents 1.0 structured event. Pure functions of
 * the event (and what is known of its repository).
 */
import type { BerthEvent } from '../model.js';

/** The payload formats a webhook may choose. */
export type PayloadFormat = 'hub' | 'distribution' | 'cloudevents';

/** What the Docker Hub format tells about the repository. */
export interface RepositoryFacts {
  isPrivate: boolean;
  description: string | null;
  createdAt: number;
}

/** A delivery body with its Content-Type. */
export interface Payload {
  contentType: string;
  body: string;
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

function hubPayload(
  event: BerthEvent,
  repository: RepositoryFacts | undefined,
  callbackUrl: string,
): unknown {
  const repo = event.target.repository ?? '';
  const slash = repo.indexOf('/');
  const namespace = slash < 0 ? '' : repo.slice(0, slash);
  const name = slash < 0 ? repo : repo.slice(slash + 1);
  const base = event.origin ?? (event.registry ? `https://${event.registry}` : '');
  return {
    callback_url: callbackUrl,
    push_data: {
      pushed_at: seconds(event.at),
      pusher: event.actor.name ?? '',
      tag: event.target.tag ?? null,
      images: event.target.digest ? [event.target.digest] : [],
      media_type: event.target.mediaType ?? null,
    },
    repository: {
      repo_name: repo,
      name,
      namespace,
      owner: namespace,
      status: 'Active',
      is_private: repository?.isPrivate ?? true,
      is_official: false,
      is_trusted: false,
      description: repository?.description ?? '',
      date_created: repository ? seconds(repository.createdAt) : null,
      repo_url: base ? `${base}/${repo}` : repo,
      comment_count: 0,
      star_count: 0,
    },
  };
}

const ACTIONS: Partial<Record<BerthEvent['type'], string>> = {
  'manifest.pushed': 'push',
  'blob.uploaded': 'push',
  'blob.mounted': 'mount',
  'manifest.pulled': 'pull',
  'manifest.deleted': 'delete',
  'tag.deleted': 'delete',
  'blob.deleted': 'delete',
};

function distributionEvent(event: BerthEvent): unknown {
  const { repository, digest, tag, mediaType, size } = event.target;
  const kind = event.type.startsWith('blob.') ? 'blobs' : 'manifests';
  return {
    id: String(event.id),
    timestamp: new Date(event.at).toISOString(),
    action: ACTIONS[event.type] ?? event.type,
    target: {
      mediaType,
      size,
      length: size,
      digest,
      repository,
      tag,
      url:
        event.registry && repository && digest
          ? `${event.origin ?? `https://${event.registry}`}/v2/${repository}/${kind}/${digest}`
          : undefined,
    },
    request: {
      addr: event.actor.address ?? undefined,
      host: event.registry,
      useragent: event.actor.userAgent ?? undefined,
    },
    actor: { name: event.actor.name ?? undefined },
    source: { addr: event.registry },
  };
}

function cloudEvent(event: BerthEvent): unknown {
  const subject = [event.target.repository, event.target.tag ?? event.target.digest]
    .filter(Boolean)
    .join(':');
  return {
    specversion: '1.0',
    id: String(event.id),
    source: event.registry ? `//${event.registry}` : '//berth',
    type: `io.berth.${event.type}`,
    time: new Date(event.at).toISOString(),
    datacontenttype: 'application/json',
    ...(subject ? { subject } : {}),
    data: { actor: event.actor, target: event.target, outcome: event.outcome },
  };
}

/**
 * The body of a delivery of `events` (one, except the distribution envelope, which may carry
 * several) in `format`. `callbackUrl` is the Hub format's `callback_url`.
 */
export function payloadOf(
  format: PayloadFormat,
  events: BerthEvent[],
  options: { repository?: RepositoryFacts; callbackUrl?: string } = {},
): Payload {
  if (events.length === 0) throw new Error('a delivery carries at least one event');
  switch (format) {
    case 'hub':
      return {
        contentType: 'application/json',
        body: JSON.stringify(hubPayload(events[0]!, options.repository, options.callbackUrl ?? '')),
      };
    case 'distribution':
      return {
        contentType: 'application/vnd.docker.distribution.events.v2+json',
        body: JSON.stringify({ events: events.map(distributionEvent) }),
      };
    case 'cloudevents':
      return {
        contentType: 'application/cloudevents+json',
        body: JSON.stringify(cloudEvent(events[0]!)),
      };
  }
}
