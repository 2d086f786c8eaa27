import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import type { FollowRoute } from '../core/types.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** People and services: everything with a @handle. */
export const sources = pgTable(
  'sources',
  {
    id: text('id').primaryKey(),
    handle: text('handle').notNull(),
    kind: text('kind', { enum: ['person', 'service'] }).notNull(),
    name: text('name').notNull(),
    /** Lowercased; people only. Identities with the same email are one person. */
    email: text('email'),
    visibility: text('visibility', { enum: ['public', 'protected'] }).notNull().default('public'),
    isAdmin: boolean('is_admin').notNull().default(false),
    timezone: text('timezone').notNull().default('UTC'),
    /** Global switch: `off` silences every delivery to this person until `on`. */
    switchedOff: boolean('switched_off').notNull().default(false),
    switchedOffAt: ts('switched_off_at'),
    /** Quiet hours as HH:MM in the person's time zone; null = none. */
    quietStart: text('quiet_start'),
    quietEnd: text('quiet_end'),
    /** When true, DMs falling in quiet hours go to the digest instead of being held. */
    quietToDigest: boolean('quiet_to_digest').notNull().default(false),
    digestPeriod: text('digest_period', { enum: ['off', 'hourly', 'daily', 'weekly'] }).notNull().default('off'),
    digestAt: text('digest_at').notNull().default('08:00'),
    lastDigestAt: ts('last_digest_at'),
    /** Where DMs go for a person on both platforms: last = where they last spoke to the app. */
    dmPreference: text('dm_preference', { enum: ['last', 'slack', 'teams', 'both'] }).notNull().default('last'),
    lastPlatform: text('last_platform', { enum: ['slack', 'teams'] }),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('sources_handle_uq').on(t.handle), uniqueIndex('sources_email_uq').on(t.email)],
);

export const serviceOwners = pgTable(
  'service_owners',
  {
    serviceId: text('service_id').notNull().references(() => sources.id, { onDelete: 'cascade' }),
    personId: text('person_id').notNull().references(() => sources.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.serviceId, t.personId] })],
);

/** A person's account on a chat platform. `data` keeps what the platform needs to reach them later. */
export const identities = pgTable(
  'identities',
  {
    id: text('id').primaryKey(),
    personId: text('person_id').notNull().references(() => sources.id, { onDelete: 'cascade' }),
    platform: text('platform', { enum: ['slack', 'teams'] }).notNull(),
    /** Slack team id / Teams tenant id. */
    tenant: text('tenant').notNull(),
    /** Slack user id / Teams AAD object id. */
    externalId: text('external_id').notNull(),
    /** Slack: { dmChannel }, Teams: { conversationReference, userId (29:...) }. */
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('identities_platform_uq').on(t.platform, t.tenant, t.externalId),
    index('identities_person_idx').on(t.personId),
  ],
);

/** API tokens (`tp_...`) and incoming-hook tokens; only the SHA-256 of the secret is kept. */
export const tokens = pgTable(
  'tokens',
  {
    id: text('id').primaryKey(),
    sourceId: text('source_id').notNull().references(() => sources.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['api', 'hook'] }).notNull(),
    hash: text('hash').notNull(),
    createdBy: text('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
    expiresAt: ts('expires_at'),
    revokedAt: ts('revoked_at'),
    /** Console migration: updated at most once a minute when the token authenticates. */
    lastUsedAt: ts('last_used_at'),
  },
  (t) => [uniqueIndex('tokens_hash_uq').on(t.hash), index('tokens_source_idx').on(t.sourceId)],
);

export interface EntitiesJson {
  mentions: string[];
  tags: string[];
  urls: string[];
  amounts: { value: string; currency: string }[];
}

export const statuses = pgTable(
  'statuses',
  {
    id: text('id').primaryKey(),
    sourceId: text('source_id').notNull().references(() => sources.id, { onDelete: 'cascade' }),
    /** The person who wrote it (differs from source for `as @service`); null for hooks and service tokens. */
    authorId: text('author_id'),
    text: text('text').notNull(),
    platform: text('platform', { enum: ['slack', 'teams', 'api', 'hook', 'web', 'sms', 'xmpp', 'feed', 'calendar'] }).notNull(),
    entities: jsonb('entities').$type<EntitiesJson>().notNull(),
    /** Lowercased words of the text, for `track`. */
    words: text('words').array().notNull().default(sql`'{}'::text[]`),
    /** Where a repeat must be harmless: `tok:<tokenId>:<Idempotency-Key>` or `slack:<team>:<channel>:<ts>`. */
    dedupeKey: text('dedupe_key'),
    createdAt: ts('created_at').notNull().defaultNow(),
    deletedAt: ts('deleted_at'),
    /** Inputs migration: a calendar reminder is not delivered after this (its event's start). */
    expiresAt: ts('expires_at'),
    /** Inputs migration: `data.input` of a status pulled from a feed or calendar (SPEC section 7). */
    input: jsonb('input').$type<Record<string, unknown>>(),
  },
  (t) => [
    uniqueIndex('statuses_dedupe_uq').on(t.dedupeKey),
    index('statuses_source_idx').on(t.sourceId, t.id),
  ],
);

/** Written in the same transaction as the change it announces; the relay moves it into BullMQ. */
export const outbox = pgTable(
  'outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** status.created | status.deleted | follow.requested | notice */
    event: text('event').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    relayedAt: ts('relayed_at'),
  },
  (t) => [index('outbox_pending_idx').on(t.id).where(sql`relayed_at is null`)],
);

/** Chat channels known to the app (Slack channel, Teams channel or group chat). */
export const channels = pgTable(
  'channels',
  {
    id: text('id').primaryKey(),
    platform: text('platform', { enum: ['slack', 'teams'] }).notNull(),
    tenant: text('tenant').notNull(),
    externalId: text('external_id').notNull(),
    name: text('name'),
    /** Teams: conversation reference; Slack: nothing needed beyond the id. */
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    /** `channel publish @service`: every new top-level message becomes a status of this service. */
    publishServiceId: text('publish_service_id').references(() => sources.id, { onDelete: 'set null' }),
    publishedBy: text('published_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('channels_platform_uq').on(t.platform, t.tenant, t.externalId)],
);

export const webhooks = pgTable(
  'webhooks',
  {
    id: text('id').primaryKey(),
    ownerId: text('owner_id').notNull().references(() => sources.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    description: text('description').notNull().default(''),
    /** Optional follow filters applied to everything this endpoint receives. */
    filter: jsonb('filter').$type<string[]>().notNull().default([]),
    secret: text('secret').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    disabledReason: text('disabled_reason'),
    /** Start of the current run of failures; reset by any success. */
    failingSince: ts('failing_since'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('webhooks_owner_idx').on(t.ownerId)],
);

export const follows = pgTable(
  'follows',
  {
    id: text('id').primaryKey(),
    subscriberKind: text('subscriber_kind', { enum: ['person', 'channel', 'webhook', 'xmpp'] }).notNull(),
    subscriberId: text('subscriber_id').notNull(),
    targetKind: text('target_kind', { enum: ['source', 'tag', 'word'] }).notNull(),
    /** source id, lowercase tag without '#', or lowercase word. */
    target: text('target').notNull(),
    state: text('state', { enum: ['active', 'pending', 'off'] }).notNull(),
    /** `channel`, `webhook`, or a person's routes '+'-joined (`dm`, `dm+sms`; legacy `both`): core/routes.ts. */
    route: text('route').$type<FollowRoute>().notNull(),
    filters: jsonb('filters').$type<string[]>().notNull().default([]),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('follows_uq').on(t.subscriberKind, t.subscriberId, t.targetKind, t.target),
    index('follows_target_idx').on(t.targetKind, t.target, t.id),
    index('follows_subscriber_idx').on(t.subscriberKind, t.subscriberId),
  ],
);

/** A protected source (or a person) refusing a follower for good. */
export const blocks = pgTable(
  'blocks',
  {
    sourceId: text('source_id').notNull().references(() => sources.id, { onDelete: 'cascade' }),
    personId: text('person_id').notNull().references(() => sources.id, { onDelete: 'cascade' }),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.sourceId, t.personId] })],
);

export type DeliveryState = 'queued' | 'sent' | 'retrying' | 'failed' | 'skipped';

/**
 * One event to one subscriber over one route. `dedupeKey` makes a repeated fan-out harmless.
 * Storage: `fillfactor = 50`, set by hand in migrations 0001 (70) and 0007 (50; drizzle-kit has no table
 * storage parameters), so that marking a delivery sent stays on its page; a regenerated migration must keep it.
 */
export const deliveries = pgTable(
  'deliveries',
  {
    id: text('id').primaryKey(),
    /** status.created | status.deleted | follow.requested | webhook.test | notice */
    event: text('event').notNull(),
    statusId: text('status_id'),
    subscriberKind: text('subscriber_kind', { enum: ['person', 'channel', 'webhook', 'xmpp'] }).notNull(),
    subscriberId: text('subscriber_id').notNull(),
    route: text('route', { enum: ['dm', 'email', 'channel', 'webhook', 'sms', 'xmpp'] }).notNull(),
    /** The follow that caused it (for "why you got this" and "how to turn it off"). */
    followId: text('follow_id'),
    state: text('state', { enum: ['queued', 'sent', 'retrying', 'failed', 'skipped'] }).notNull(),
    reason: text('reason'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    /** Event-specific data (notices, follow requests). */
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
    /** Where it landed, to retract it later: [{ platform, channel, ts }] / [{ platform, conversationId, activityId, serviceUrl }]. */
    refs: jsonb('refs').$type<Record<string, unknown>[]>().notNull().default([]),
    /** DMs held by quiet hours are released at this time; email deliveries wait for the digest. */
    holdUntil: ts('hold_until'),
    dedupeKey: text('dedupe_key').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    sentAt: ts('sent_at'),
  },
  (t) => [
    uniqueIndex('deliveries_dedupe_uq').on(t.dedupeKey),
    index('deliveries_subscriber_idx').on(t.subscriberKind, t.subscriberId, t.id),
    index('deliveries_status_idx').on(t.statusId),
  ],
);

/** Consent record: every opt-in and opt-out. */
export const consentLog = pgTable(
  'consent_log',
  {
    id: text('id').primaryKey(),
    at: ts('at').notNull().defaultNow(),
    /** The person or admin who acted (null for an unauthenticated unsubscribe link: see subject). */
    actorId: text('actor_id'),
    /** follow, unfollow, approve, deny, block, on, off, digest, unsubscribe, quiet, protect, dm */
    action: text('action').notNull(),
    /** Whose consent this is: the person (or channel/webhook) subscribing or opting out. */
    subjectId: text('subject_id').notNull(),
    /** What it is about: "@build", "#deploy", "digest", ... */
    object: text('object').notNull().default(''),
    /** slack | teams | api | email | cli */
    via: text('via').notNull(),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index('consent_at_idx').on(t.at, t.id), index('consent_subject_idx').on(t.subjectId)],
);

/** Idempotency of inbound events (Slack event_id, Teams activity id) beyond a single process. */
export const processedEvents = pgTable('processed_events', {
  key: text('key').primaryKey(),
  at: ts('at').notNull().defaultNow(),
});

/** Bolt OAuth installations, one row per workspace (or enterprise). */
export const slackInstallations = pgTable('slack_installations', {
  id: text('id').primaryKey(),
  data: jsonb('data').$type<Record<string, unknown>>().notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/** One row per (person, digest period): makes "send each digest once" hold across any number of workers. */
export const digestRuns = pgTable(
  'digest_runs',
  {
    personId: text('person_id').notNull().references(() => sources.id, { onDelete: 'cascade' }),
    periodKey: text('period_key').notNull(),
    sentAt: ts('sent_at').notNull().defaultNow(),
    statusCount: integer('status_count').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.personId, t.periodKey] })],
);

// ---- Web console (SPEC section 10): sign-in links and browser sessions; only SHA-256 hashes are stored.

/** A one-time sign-in link from chat (`web`): 10 minutes, consumed only by the POST of its confirm page. */
export const signInLinks = pgTable(
  'sign_in_links',
  {
    id: text('id').primaryKey(),
    personId: text('person_id').notNull().references(() => sources.id, { onDelete: 'cascade' }),
    hash: text('hash').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    expiresAt: ts('expires_at').notNull(),
    usedAt: ts('used_at'),
  },
  (t) => [uniqueIndex('sign_in_links_hash_uq').on(t.hash)],
);

/** A browser session (cookie); ends after 7 days idle or at sign-out. */
export const consoleSessions = pgTable(
  'console_sessions',
  {
    id: text('id').primaryKey(),
    personId: text('person_id').notNull().references(() => sources.id, { onDelete: 'cascade' }),
    hash: text('hash').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    lastSeenAt: ts('last_seen_at').notNull().defaultNow(),
    endedAt: ts('ended_at'),
  },
  (t) => [uniqueIndex('console_sessions_hash_uq').on(t.hash), index('console_sessions_person_idx').on(t.personId)],
);

// ---- XMPP (SPEC section 8): addresses seen by the component, their link to a person, pending link codes.

/** A bare JID that subscribed or wrote to the component; `personId` once `confirm` linked it. */
export const xmppAddresses = pgTable(
  'xmpp_addresses',
  {
    jid: text('jid').primaryKey(),
    personId: text('person_id').references(() => sources.id, { onDelete: 'set null' }),
    linkedAt: ts('linked_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('xmpp_addresses_person_idx').on(t.personId)],
);

/** `link xmpp <jid>`: a code sent to the JID, answered there with `confirm <code>`; only its SHA-256 is kept. */
export const xmppLinkCodes = pgTable(
  'xmpp_link_codes',
  {
    id: text('id').primaryKey(),
    personId: text('person_id').notNull().references(() => sources.id, { onDelete: 'cascade' }),
    jid: text('jid').notNull(),
    hash: text('hash').notNull(),
    attempts: integer('attempts').notNull().default(0),
    createdAt: ts('created_at').notNull().defaultNow(),
    expiresAt: ts('expires_at').notNull(),
  },
  (t) => [index('xmpp_link_codes_jid_idx').on(t.jid)],
);

// ---- Inputs (SPEC section 7): feeds and calendars polled into a service's statuses.

/**
 * One feed or calendar of a service. `due_at` is when the sweeper hands it to a worker (one BullMQ job
 * per input and due time); `next_fetch_at` is when the URL is fetched again (a calendar also wakes for
 * its reminders in between).
 */
export const inputs = pgTable(
  'inputs',
  {
    id: text('id').primaryKey(),
    serviceId: text('service_id').notNull().references(() => sources.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['feed', 'calendar'] }).notNull(),
    url: text('url').notNull(),
    everyS: integer('every_s').notNull().default(300),
    remindMin: integer('remind_min'),
    tz: text('tz'),
    state: text('state', { enum: ['active', 'failing', 'disabled'] }).notNull().default('active'),
    lastError: text('last_error'),
    lastPolledAt: ts('last_polled_at'),
    /** Last time the document was read whole (a calendar re-reads at least daily, 304s or not). */
    parsedAt: ts('parsed_at'),
    nextFetchAt: ts('next_fetch_at').notNull().defaultNow(),
    dueAt: ts('due_at').notNull().defaultNow(),
    /** The last due time whose poll finished: a second job for the same due time does nothing. */
    lastDueAt: ts('last_due_at'),
    etag: text('etag'),
    lastModified: text('last_modified'),
    failingSince: ts('failing_since'),
    failures: integer('failures').notNull().default(0),
    /** False until the first successful poll recorded what was there (it posts nothing for feeds). */
    baselined: boolean('baselined').notNull().default(false),
    /** The feed's home link, for "and N more new items". */
    homeUrl: text('home_url'),
    createdBy: text('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('inputs_service_idx').on(t.serviceId), index('inputs_due_idx').on(t.dueAt).where(sql`state <> 'disabled'`)],
);

/** Feed items already seen (identity hash), written in the transaction that posts their statuses. */
export const inputItems = pgTable(
  'input_items',
  {
    inputId: text('input_id').notNull().references(() => inputs.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    statusId: text('status_id'),
    firstSeenAt: ts('first_seen_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'input_items_pk', columns: [t.inputId, t.key] })],
);

/** Calendar occurrences within the window, and which announcements each has had (at most one per kind). */
export const inputEvents = pgTable(
  'input_events',
  {
    inputId: text('input_id').notNull().references(() => inputs.id, { onDelete: 'cascade' }),
    /** UID, plus the original start for an occurrence of a recurring event. */
    key: text('key').notNull(),
    uid: text('uid').notNull(),
    startAt: ts('start_at').notNull(),
    endAt: ts('end_at').notNull(),
    allDay: boolean('all_day').notNull().default(false),
    summary: text('summary').notNull(),
    location: text('location'),
    url: text('url'),
    cancelled: boolean('cancelled').notNull().default(false),
    reminded: boolean('reminded').notNull().default(false),
    movedAnnounced: boolean('moved_announced').notNull().default(false),
    cancelAnnounced: boolean('cancel_announced').notNull().default(false),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'input_events_pk', columns: [t.inputId, t.key] })],
);

// ---- SMS (SPEC section 9) ----

/**
 * A person's phone number. Verified when `verified_at` is set (a 6-digit code texted to it, kept as its
 * SHA-256, 5 tries, 10 minutes); `stopped_at` set by STOP (or the provider's opt-out) until START.
 * `waiting` counts, per source handle, the status texts held back by SMS_PER_HOUR for one summary;
 * `summary_delivery_id` is the delivery that carries that summary when the hour allows.
 */
export const smsNumbers = pgTable(
  'sms_numbers',
  {
    personId: text('person_id')
      .primaryKey()
      .references(() => sources.id, { onDelete: 'cascade' }),
    /** E.164, e.g. +15551234567. */
    number: text('number').notNull(),
    verifiedAt: ts('verified_at'),
    codeHash: text('code_hash'),
    codeExpiresAt: ts('code_expires_at'),
    codeTries: integer('code_tries').notNull().default(0),
    stoppedAt: ts('stopped_at'),
    waiting: jsonb('waiting').$type<Record<string, number>>().notNull().default({}),
    summaryDeliveryId: text('summary_delivery_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('sms_numbers_number_uq').on(t.number)],
);

/** Status texts sent (and summaries), one per delivery: SMS_PER_HOUR counts these over the last 60 minutes. */
export const smsSends = pgTable(
  'sms_sends',
  {
    deliveryId: text('delivery_id').primaryKey(),
    number: text('number').notNull(),
    sentAt: ts('sent_at').notNull().defaultNow(),
  },
  (t) => [index('sms_sends_number_idx').on(t.number, t.sentAt)],
);

// ---- Security (issue 16, docs/security.md): generated secrets, follow-request notice throttle.

/** Secrets the app makes for itself on first start (`unsubscribe_key`), and dates tied to them. */
export const appSecrets = pgTable('app_secrets', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/** When a source's owners were last notified of a requester's follow request: at most once a day per source. */
export const followRequestNotices = pgTable(
  'follow_request_notices',
  {
    sourceId: text('source_id')
      .notNull()
      .references(() => sources.id, { onDelete: 'cascade' }),
    requesterKind: text('requester_kind').notNull(),
    requesterId: text('requester_id').notNull(),
    notifiedAt: ts('notified_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.sourceId, t.requesterKind, t.requesterId] })],
);
