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

/**
 * The machine-readable event every app gets, as sent (SPEC section 4): `{type, timestamp, data}` around a
 * `data` already in JSON (one status's data is shared by a whole batch). Webhook bodies and the XEP-0335
 * JSON of XMPP messages are this same string.
 */
export const eventBodyJson = (type: string, timestamp: string, dataJson: string): string =>
  `{"type":${JSON.stringify(type)},"timestamp":${JSON.stringify(timestamp)},"data":${dataJson}}`;

/** The `data` of `status.deleted`: the id and URL, and who posted it while the row is still there. */
export function statusDeletedData(publicUrl: string, statusId: string, r?: { s: { deletedAt: Date | null }; src: SourceRowLike }): Record<string, unknown> {
  const data: Record<string, unknown> = { id: statusId, url: statusUrl(publicUrl, statusId) };
  if (r) Object.assign(data, { source: { handle: r.src.handle, kind: r.src.kind, name: r.src.name }, deleted_at: r.s.deletedAt?.toISOString() ?? null });
  return data;
}
