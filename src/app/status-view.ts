import type { StatusView } from '../core/messages.js';
import type { Entities, SourceKind, StatusPlatform } from '../core/types.js';

export interface StatusRowLike {
  id: string;
  text: string;
  platform: StatusPlatform;
  entities: Entities;
  createdAt: Date;
  /** Set for statuses pulled by an input (feed or calendar). */
  input?: Record<string, unknown> | null;
}

export interface SourceRowLike {
  handle: string;
  kind: SourceKind;
  name: string;
}

export function statusUrl(publicUrl: string, id: string): string {
  return `${publicUrl}/statuses/${encodeURIComponent(id)}`;
}

/** The one outside shape of a status: API responses, webhook `data`, feeds and chat cards. */
export function toStatusView(publicUrl: string, s: StatusRowLike, src: SourceRowLike): StatusView {
  return {
    id: s.id,
    url: statusUrl(publicUrl, s.id),
    text: s.text,
    created_at: s.createdAt.toISOString(),
    platform: s.platform,
    source: { handle: src.handle, kind: src.kind, name: src.name },
    entities: s.entities,
    ...(s.input ? { input: s.input } : {}),
  };
}
