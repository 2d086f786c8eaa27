import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { waitUntil } from '../helpers/wait.js';

export interface ReceivedMail {
  /** SMTP envelope. */
  from: string;
  to: string[];
  /** The message exactly as it arrived. */
  raw: string;
  parsed: ParsedMail;
}

export interface FakeSmtp {
  /** `smtp://127.0.0.1:<port>`: plain SMTP, no STARTTLS offered. */
  url: string;
  port: number;
  received: ReceivedMail[];
  /** Waits until at least `count` mails arrived; throws after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  /** Makes the next `n` messages fail with a 451 (temporary) answer. */
  failNext(n?: number): void;
  close(): Promise<void>;
}

/** A real SMTP server on 127.0.0.1 (smtp-server), parsing what it receives with mailparser. */
export async function startFakeSmtp(): Promise<FakeSmtp> {
  const received: ReceivedMail[] = [];
  let failures = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', callback);
      stream.on('end', () => {
        if (failures > 0) {
          failures--;
          const err = Object.assign(new Error('Try again later'), { responseCode: 451 });
          callback(err);
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw)
          .then((parsed) => {
            received.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              raw,
              parsed,
            });
            callback();
          })
          .catch(callback);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    received,
    failNext(n = 1) {
      failures = n;
    },
    async waitFor(count, timeoutMs = 10_000) {
      await waitUntil(() => received.length >= count, `${count} mail(s) (got ${received.length} so far)`, timeoutMs);
      return received;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
