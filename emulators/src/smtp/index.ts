export { startSmtpEmulator } from './emulator.js';
export type { CapturedMail, SmtpEmulator, SmtpEmulatorOptions, SmtpParse, SmtpStage, StoredMail } from './emulator.js';
