import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DomainDeps } from '../../domain.js';
import type { ApiRouter } from '../../http/route.js';
import { localDiskStorage } from '../../storage/local-disk.js';
import type { ObjectStorage } from '../../storage/object-storage.js';
import { attachmentRoutes } from './routes.js';
import { ChatAttachmentsService } from './service.js';

/**
 * Chat attachments (docs/chat.md, "Attachments and storage"). The platform hands in its object
 * storage (local disk under the data directory, or S3); without one (tests, a bare API) the bytes
 * go to a fresh temporary directory, and the log says so once.
 */
export function register(router: ApiRouter, deps: DomainDeps): void {
  attachmentRoutes(
    router,
    new ChatAttachmentsService({
      storage: deps.storage ?? temporaryStorage(deps),
      enterToWrite: (caller, roomId) => deps.shared.chat.enterToWrite(caller, roomId),
      logger: deps.logger,
      prefix: deps.prefix,
    }),
  );
}

/** Made on the first upload or download, so an API that never sees one leaves no directory behind. */
function temporaryStorage(deps: DomainDeps): ObjectStorage {
  let storage: ObjectStorage | undefined;
  const open = (): ObjectStorage => {
    if (!storage) {
      const dir = mkdtempSync(join(tmpdir(), 'clutch-attachments-'));
      deps.logger.warn({ dir }, 'no object storage configured: chat attachments are kept in a temporary directory');
      storage = localDiskStorage(dir);
    }
    return storage;
  };
  return {
    kind: 'local-disk',
    put: (key, bytes, options) => open().put(key, bytes, options),
    get: (key) => open().get(key),
    head: (key) => open().head(key),
    delete: (key) => open().delete(key),
  };
}
