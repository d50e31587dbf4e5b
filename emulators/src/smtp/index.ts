export { startSmtpEmulator } from './emulator.js';
export type { CapturedMail, SmtpEmulator, SmtpEmulatorOptions, SmtpStage } from './emulator.js';
