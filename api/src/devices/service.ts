import type { LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { issueDeviceCredential, provisionDevice, revokeDeviceCredential, type DeviceLogin, type VehicleDetails } from '@clutch/identity';
import { apiError } from '../errors.js';
import type { TenantsService } from '../tenants/service.js';
import { DevicesRepository, type DeviceRow } from './repository.js';

export interface ProvisionRequest {
  tenantId: string;
  deviceId: string;
  vehicleId?: string | undefined;
  vehicle?: VehicleDetails | undefined;
}

export interface DeviceLoginResult {
  tenantId: string;
  deviceId: string;
  vehicleId: string;
  /** The MQTT login; the password is shown here once and stored only as a digest. */
  login: DeviceLogin;
}

/** Device lifecycle for administrators: provision, rotate and revoke MQTT credentials. */
export class DevicesService {
  constructor(
    private readonly db: Database,
    private readonly bus: LiveEventBus,
    private readonly tenants: TenantsService,
  ) {}

  async provision(request: ProvisionRequest): Promise<DeviceLoginResult> {
    await this.tenants.assertExists(request.tenantId);
    const { tenantId, deviceId, vehicleId, login } = await provisionDevice(this.db, request);
    return { tenantId, deviceId, vehicleId, login };
  }

  /**
   * New credential, old one revoked. Sessions opened with the old password are ended too (the
   * `device-revoked` event): a rotation after a leak must not leave the leaked session running.
   */
  async rotate(tenantId: string, deviceId: string): Promise<DeviceLoginResult> {
    const device = await this.find(tenantId, deviceId);
    const login = await issueDeviceCredential(this.db, tenantId, deviceId);
    this.endSessions(device);
    return { tenantId, deviceId, vehicleId: device.vehicle_id, login };
  }

  /** Revokes the live credential (if any) and ends the device's sessions; false when none was live. */
  async revoke(tenantId: string, deviceId: string): Promise<boolean> {
    const device = await this.find(tenantId, deviceId);
    const revoked = await revokeDeviceCredential(this.db, tenantId, deviceId);
    this.endSessions(device);
    return revoked;
  }

  private async find(tenantId: string, deviceId: string): Promise<DeviceRow> {
    const device = await new DevicesRepository(this.db).find(tenantId, deviceId);
    if (!device) throw apiError('DEVICE_NOT_FOUND', `No device ${deviceId} in tenant ${tenantId}`, { tenantId, deviceId });
    return device;
  }

  private endSessions(device: DeviceRow): void {
    this.bus.publish({ type: 'device-revoked', tenantId: device.tenant_id, vehicleId: device.vehicle_id, deviceId: device.id });
  }
}
