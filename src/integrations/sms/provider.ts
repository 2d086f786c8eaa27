/**
 * What Twiliprise needs from an SMS provider (SPEC section 9 is provider-neutral; Twilio is the first).
 * A provider sends one message (a long body goes as one concatenated message), and reads and verifies
 * its inbound webhook.
 */

export type SmsSendResult =
  | { kind: 'sent'; id: string }
  /** The number opted out with the carrier/provider (Twilio 21610): not an error to retry. */
  | { kind: 'stopped'; error: string }
  | { kind: 'retry'; error: string; retryAfterMs?: number }
  | { kind: 'fail'; error: string };

/** One inbound text, as the provider's webhook delivered it. */
export interface InboundSms {
  from: string;
  to: string;
  text: string;
  /** The provider's message id (Twilio MessageSid). */
  id: string;
}

export interface InboundRequest {
  /** The URL the provider was configured with (PUBLIC_URL + path + query). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** Form fields in the order received. */
  fields: readonly (readonly [string, string])[];
}

export interface SmsProvider {
  readonly name: string;
  /** The sending number, E.164. */
  readonly from: string;
  send(to: string, body: string): Promise<SmsSendResult>;
  /** True when the request is signed by the provider. */
  verify(req: InboundRequest): boolean;
  /** The text in a verified request; null when a field it needs is missing. */
  parse(req: InboundRequest): InboundSms | null;
  /** The webhook's answer: a reply text to send back (or none). */
  answer(reply: string | null): { contentType: string; body: string };
}
