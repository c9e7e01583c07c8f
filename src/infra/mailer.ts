import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { Config } from '../config/env.js';
import { Background } from './background.js';
import type { Logger } from './logger.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  /** Queues the message and returns at once: a slow or failing SMTP server never delays or fails a request. */
  send(message: MailMessage): void;
  /** Resolves when every queued message was handed to the transport (tests, shutdown). */
  idle(): Promise<void>;
}

type Mode = 'smtp' | 'log' | 'disabled';

function createTransport(config: Config): { transport: Transporter; mode: Mode } {
  const url = config.mail.smtpUrl;
  if (url) {
    // In production the certificate is verified and plain SMTP must upgrade with STARTTLS.
    const strict = config.isProduction ? { requireTLS: !url.startsWith('smtps:'), tls: { rejectUnauthorized: true, minVersion: 'TLSv1.2' as const } } : {};
    const options: SMTPTransport.Options = { url, ...strict };
    return { transport: nodemailer.createTransport(options), mode: 'smtp' };
  }
  return { transport: nodemailer.createTransport({ jsonTransport: true }), mode: config.isProduction ? 'disabled' : 'log' };
}

/**
 * nodemailer over SMTP when SMTP_URL is set. Without it, development logs each message
 * (links included, so flows can be tried locally); production logs only that a message
 * could not be sent, never its content.
 */
export function createMailer(config: Config, logger: Logger): Mailer {
  const { transport, mode } = createTransport(config);
  if (mode === 'disabled') logger.warn('SMTP_URL is not set: no email will be sent (verification and password reset cannot work)');
  const deliveries = new Background(logger, 'mail delivery');

  async function deliver(message: MailMessage): Promise<void> {
    await transport.sendMail({ from: config.mail.from, ...message });
    // The log redacts every `text` field (the body too); the links are what a developer needs to follow the flow.
    if (mode === 'log') {
      logger.info('mail (development transport, not sent)', { to: message.to, subject: message.subject, text: message.text, links: message.text.match(/https?:\/\/\S+/g) ?? [] });
    }
    if (mode === 'disabled') logger.warn('mail not sent: SMTP_URL is not configured', { subject: message.subject });
  }

  return {
    send: (message) => deliveries.run(() => deliver(message)),
    idle: () => deliveries.idle(),
  };
}
