import type { Queryable } from '@clutch/db';
import {
  issueDeviceCredential,
  provisionDevice,
  revokeDeviceCredential,
  type DeviceLogin,
  type VehicleDetails,
} from '@clutch/identity';
import { appendLiveEvent } from '@clutch/jobs';
import type { Scope } from '../auth/scope.js';
import { apiError } from '../errors.js';
import { inTransaction } from '../shared/in-transaction.js';
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

const target = (tenantId: string, deviceId: string): string => `${tenantId}/${deviceId}`;

/**
 * Device lifecycle for administrators: provision, rotate and revoke MQTT credentials. Each is one
 * audited system-scope transaction: the audit row, the device, its credential and the
 * `device-revoked` event (outbox) commit together, or none of them does.
 */
export class DevicesService {
  constructor(private readonly tenants: TenantsService) {}

  async provision(scope: Scope, request: ProvisionRequest): Promise<DeviceLoginResult> {
    const { tenantId, deviceId } = request;
    const detail = { vehicleId: request.vehicleId ?? null, newVehicle: request.vehicleId === undefined };
    return scope
      .audited({ action: 'device.provision', target: target(tenantId, deviceId), tenantId, detail })
      .run(async (q) => {
        await this.tenants.assertExists(q, tenantId);
        const provisioned = await provisionDevice(inTransaction(q), request);
        return { tenantId, deviceId, vehicleId: provisioned.vehicleId, login: provisioned.login };
      });
  }

  /**
   * New credential, old one revoked. Sessions opened with the old password are ended too (the
   * `device-revoked` event): a rotation after a leak must not leave the leaked session running.
   */
  async rotate(scope: Scope, tenantId: string, deviceId: string): Promise<DeviceLoginResult> {
    const { device, login } = await scope
      .audited({ action: 'device.credential.rotate', target: target(tenantId, deviceId), tenantId })
      .run(async (q) => {
        const device = await this.find(q, tenantId, deviceId);
        const login = await issueDeviceCredential(inTransaction(q), tenantId, deviceId);
        await endSessions(q, device);
        return { device, login };
      });
    return { tenantId, deviceId, vehicleId: device.vehicle_id, login };
  }

  /** Revokes the live credential (if any) and ends the device's sessions; false when none was live. */
  async revoke(scope: Scope, tenantId: string, deviceId: string): Promise<boolean> {
    return scope
      .audited({ action: 'device.credential.revoke', target: target(tenantId, deviceId), tenantId })
      .run(async (q) => {
        const device = await this.find(q, tenantId, deviceId);
        const revoked = await revokeDeviceCredential(q, tenantId, deviceId);
        await endSessions(q, device);
        return revoked;
      });
  }

  private async find(q: Queryable, tenantId: string, deviceId: string): Promise<DeviceRow> {
    const device = await new DevicesRepository(q).find(tenantId, deviceId);
    if (!device)
      throw apiError('DEVICE_NOT_FOUND', `No device ${deviceId} in tenant ${tenantId}`, { tenantId, deviceId });
    return device;
  }
}

/**
 * Announces `device-revoked` in the caller's transaction: once it commits, the outbox relay tells
 * every broker to end the device's live sessions (those opened with a password that no longer works).
 */
function endSessions(q: Queryable, device: DeviceRow): Promise<string> {
  return appendLiveEvent(q, {
    type: 'device-revoked',
    tenantId: device.tenant_id,
    vehicleId: device.vehicle_id,
    deviceId: device.id,
  });
}
