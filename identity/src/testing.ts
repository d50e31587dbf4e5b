// Test helpers of @clutch/identity (`@clutch/identity/testing`): they use dev dependencies.
export { startTestSmtp, type ReceivedMail, type TestSmtpServer } from './mail/test-smtp.js';
export { createSoftAuthenticator, type SoftAuthenticator } from './mfa/soft-authenticator.js';
export { startTwilioWireServer, type TwilioWireServer } from './sms/twilio-wire-server.js';
