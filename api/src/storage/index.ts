export { describeStorage, openStorage, parseStorageConfig, type StorageConfig } from './config.js';
export { assertObjectKey, type ObjectHead, type ObjectStorage, type StoredObject } from './object-storage.js';
export { localDiskStorage } from './local-disk.js';
export { s3Client, s3Storage, type S3StorageOptions } from './s3.js';
