export { startS3Emulator } from './emulator.js';
export type { RecordedS3Request, S3Emulator, S3EmulatorOptions, S3StoredObject } from './emulator.js';
