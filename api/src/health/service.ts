import type { Database } from '@clutch/db';

export type ComponentStatus = 'up' | 'down' | 'degraded';

export interface ComponentHealth {
  status: ComponentStatus;
  detail?: string;
}

export type HealthCheck = () => Promise<Record<string, ComponentHealth>>;

export interface HealthReport {
  status: ComponentStatus;
  components: Record<string, ComponentHealth>;
}

/** Worst status wins: one component down takes the whole service down. */
export function overallStatus(components: readonly ComponentHealth[]): ComponentStatus {
  if (components.some((c) => c.status === 'down')) return 'down';
  if (components.some((c) => c.status === 'degraded')) return 'degraded';
  return 'up';
}

/** All the health endpoint needs of the database: whether it answers (it runs no queries). */
export type DatabaseProbe = Pick<Database, 'kind' | 'ping'>;

export class HealthService {
  constructor(
    private readonly db: DatabaseProbe,
    private readonly check: HealthCheck,
  ) {}

  async report(): Promise<HealthReport> {
    const [database, others] = await Promise.all([this.database(), this.others()]);
    const components = { database, ...others };
    return { status: overallStatus(Object.values(components)), components };
  }

  private async database(): Promise<ComponentHealth> {
    const up = await this.db.ping().catch(() => false);
    return up ? { status: 'up', detail: this.db.kind } : { status: 'down', detail: `${this.db.kind} does not answer` };
  }

  private async others(): Promise<Record<string, ComponentHealth>> {
    try {
      const result = await this.check();
      // The database entry is ours: a caller's check must not mask a failed ping.
      const { database: _ignored, ...rest } = result;
      return rest;
    } catch (err) {
      // A failing check is itself a finding, not a reason to fail the health endpoint.
      return { health: { status: 'down', detail: err instanceof Error ? err.message : String(err) } };
    }
  }
}
