import type { Queryable } from '@clutch/db';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';

export interface ApiKeyRow {
  id: string;
  tenant_id: string;
  name: string;
  scopes: string[];
  created_at: Date | string;
  expires_at: Date | string | null;
  last_used_at: Date | string | null;
  revoked_at: Date | string | null;
}

/** Oldest first, as the list always was; the key id breaks ties. */
export const API_KEYS_LISTING: Listing = {
  name: 'api-keys',
  key: 'created_at',
  id: 'id',
  idType: 'text',
  order: 'asc',
};

/** Lists `api_keys` a page at a time (creation, verification and revocation live in @clutch/identity). */
export class ApiKeysRepository {
  constructor(private readonly db: Queryable) {}

  /** Revoked and expired keys included; never the secret's digest. */
  list(tenantId: string | undefined, page: PageRequest): Promise<Page<ApiKeyRow>> {
    return keysetPage<ApiKeyRow>(
      this.db,
      API_KEYS_LISTING,
      {
        sql: `SELECT id, tenant_id, name, scopes, created_at, expires_at, last_used_at, revoked_at
                FROM api_keys
               WHERE $1::text IS NULL OR tenant_id = $1`,
        params: [tenantId ?? null],
      },
      page,
    );
  }
}
