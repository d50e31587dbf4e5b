export type { CopyColumns, Database, DatabaseKind, Queryable, QueryResult } from './types.js';
export { CopyValueError, type CopyColumn, type CopyRowSource, type CopyRows, type CopyType } from './copy-binary.js';
export { openDatabase, type DatabaseConfig } from './open.js';
export { openPglite, pgliteOf } from './pglite.js';
export { openPostgres } from './postgres.js';
export {
  migrate,
  listMigrations,
  detectFeatures,
  migrationRequirements,
  CORE_MIGRATIONS_DIR,
  type DatabaseFeatures,
} from './migrate/migrate.js';
export { syncSignals } from './signals.js';
export { APP_ROLE, enterUserScope } from './tenant-scope.js';
export {
  ensureSamplePartitions,
  prepareStorage,
  storageAtStart,
  storageMode,
  START_PARTITIONS,
  type StorageMode,
} from './storage.js';
export {
  completeCommands,
  expireCommands,
  insertCommand,
  markCommandFailed,
  markCommandSent,
  DEVICE_COMMAND_COLUMNS,
  type CommandAnswer,
  type CommandEvent,
  type CommandStatus,
  type DeviceCommandRow,
} from './device-commands.js';
export { arrayParameter } from './array-literal.js';
