/**
 * A real SMTP server on 127.0.0.1 (the `smtp-server` package) that takes mail for tests: AUTH
 * PLAIN/LOGIN checked against the given user and password (over plain TCP: it is loopback), every
 * message parsed with `mailparser` and kept. `refuseNext` makes the next messages fail with a
 * chosen SMTP reply (4xx: try again; 5xx: refused for good).
 */
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { listenLoopback } from './listen.js';
import { waitUntil } from './wait.js';

export interface ReceivedMail {
  /** The envelope: MAIL FROM and RCPT TO. */
  from: string;
  to: string[];
  /** The AUTH user the client logged in as (undefined without AUTH). */
  user: string | undefined;
  parsed: ParsedMail;
}

export interface SmtpReceiver {
  readonly host: string;
  readonly port: number;
  readonly mails: ReceivedMail[];
  /** Failed logins (wrong user or password). */
  readonly refusedLogins: number;
  /** The next `times` messages are answered with this reply code (e.g. 451 or 554). */
  refuseNext(code: number, times?: number): void;
  waitForCount(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

export interface StartSmtpOptions {
  /** Required login; none: AUTH is not offered and mail is taken without it. */
  auth?: { user: string; pass: string };
}

export async function startSmtpReceiver(options: StartSmtpOptions = {}): Promise<SmtpReceiver> {
  const mails: ReceivedMail[] = [];
  const refusals: number[] = [];
  let refusedLogins = 0;
  const server = new SMTPServer({
    secure: false,
    disabledCommands: options.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    allowInsecureAuth: true,
    authOptional: options.auth === undefined,
    logger: false,
    onAuth(auth, _session, callback) {
      const want = options.auth;
      if (want && auth.username === want.user && auth.password === want.pass) {
        callback(null, { user: auth.username });
        return;
      }
      refusedLogins++;
      callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const refusal = refusals.shift();
      void simpleParser(stream).then(
        (parsed) => {
          if (refusal !== undefined) {
            callback(Object.assign(new Error(`refused by the test (${refusal})`), { responseCode: refusal }));
            return;
          }
          const envelope = session.envelope;
          mails.push({
            from: envelope.mailFrom === false ? '' : envelope.mailFrom.address,
            to: envelope.rcptTo.map((r) => r.address),
            user: typeof session.user === 'string' ? session.user : undefined,
            parsed,
          });
          callback();
        },
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      );
    },
  });
  server.on('error', () => undefined); // a client hanging up mid-session is not a test failure
  const port = await listenLoopback(server.server, 'smtp receiver');
  return {
    host: '127.0.0.1',
    port,
    mails,
    get refusedLogins() {
      return refusedLogins;
    },
    refuseNext(code, times = 1) {
      for (let i = 0; i < times; i++) refusals.push(code);
    },
    waitForCount: (count, timeoutMs = 5000) =>
      waitUntil(() => (mails.length >= count ? mails : undefined), timeoutMs, `${count} mails`),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
