export { devOutboxMailer, smtpMailer, type Mail, type Mailer, type SmtpSettings } from './mailer.js';
