import type { Queryable } from '@clutch/db';

export class TenantsRepository {
  constructor(private readonly db: Queryable) {}

  async exists(id: string): Promise<boolean> {
    const { rows } = await this.db.query<{ found: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1) AS found',
      [id],
    );
    return rows[0]?.found === true;
  }

  /** Inserts the tenant unless it exists; returns the stored row and whether it was new. */
  async create(id: string, name: string): Promise<{ id: string; name: string; created: boolean }> {
    const inserted = await this.db.query<{ id: string; name: string }>(
      'INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id, name',
      [id, name],
    );
    if (inserted.rows[0]) return { ...inserted.rows[0], created: true };
    const { rows } = await this.db.query<{ id: string; name: string }>('SELECT id, name FROM tenants WHERE id = $1', [
      id,
    ]);
    return { ...rows[0]!, created: false };
  }
}
