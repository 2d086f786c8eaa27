import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Config } from '../../config.js';
import type { Logger } from '../../log.js';

export interface OutgoingMail {
  to: string | { name: string; address: string };
  subject: string;
  text: string;
  html: string;
  /** Extra header fields, e.g. List-Unsubscribe. */
  headers?: Record<string, string>;
}

export interface SentMail {
  messageId: string;
  /** The `.eml` file written when no SMTP server is configured. */
  file?: string;
}

export interface Mailer {
  readonly kind: 'smtp' | 'outbox';
  send(mail: OutgoingMail): Promise<SentMail>;
  /** Idempotent. */
  close(): void;
}

/**
 * SMTP when `SMTP_URL` is set (nodemailer understands `smtp://user:pass@host:587`, `smtps://...:465`
 * and option query strings such as `?ignoreTLS=true`); otherwise every mail is written as an `.eml`
 * file into `OUTBOX_DIR`, which any mail client opens.
 */
export function createMailer(config: Pick<Config, 'email'>, log: Logger): Mailer {
  const from = config.email.from;
  const smtpUrl = config.email.smtpUrl;
  const mlog = log.child({ name: 'mailer' });

  if (smtpUrl) {
    const transport = nodemailer.createTransport(smtpUrl, { from });
    let closed = false;
    return {
      kind: 'smtp',
      async send(mail) {
        const info = await transport.sendMail({ ...mail, from });
        mlog.debug({ messageId: info.messageId }, 'mail sent');
        return { messageId: info.messageId };
      },
      close() {
        if (closed) return;
        closed = true;
        transport.close();
      },
    };
  }

  const dir = path.resolve(config.email.outboxDir);
  // RFC 5322 lines end in CRLF; .eml files keep that so mail clients read them as they are.
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' }, { from });
  mlog.info({ dir }, 'SMTP_URL is unset: emails are written as .eml files');
  return {
    kind: 'outbox',
    async send(mail) {
      const info = await transport.sendMail({ ...mail, from });
      await mkdir(dir, { recursive: true });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const file = path.join(dir, `${stamp}-${randomBytes(4).toString('hex')}.eml`);
      // Write then rename, so anything watching the folder never sees half a message.
      await writeFile(`${file}.part`, info.message as Buffer);
      await rename(`${file}.part`, file);
      mlog.debug({ messageId: info.messageId, file }, 'mail written');
      return { messageId: info.messageId, file };
    },
    close() {
      transport.close();
    },
  };
}
