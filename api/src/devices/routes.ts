import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import { segmentId, uuid } from '../shared/schemas.js';
import type { DevicesService } from './service.js';

export const vehicleDetails = z.strictObject({
  name: z.string().trim().min(1).max(200),
  vin: z
    .string()
    .regex(/^[A-HJ-NPR-Z0-9]{17}$/, { error: 'must be a 17-character VIN (no I, O or Q)' })
    .optional(),
  make: z.string().max(100).optional(),
  model: z.string().max(100).optional(),
  modelYear: z.int().min(1980).max(2100).optional(),
});

export const provisionBody = z
  .strictObject({
    tenantId: segmentId,
    deviceId: segmentId,
    vehicleId: uuid.optional(),
    vehicle: vehicleDetails.optional(),
  })
  .refine((b) => !(b.vehicleId && b.vehicle), {
    error: 'give vehicleId (an existing vehicle) or vehicle (a new one), not both',
    path: ['vehicle'],
  });

export const deviceParams = z.object({ tenantId: segmentId, deviceId: segmentId });

const loginResult = z.object({
  tenantId: z.string(),
  deviceId: z.string(),
  vehicleId: z.string(),
  login: z.object({ username: z.string(), password: z.string() }).describe('MQTT login; the password is shown once'),
});

export function deviceRoutes(router: ApiRouter, devices: DevicesService): void {
  router.route({
    method: 'post',
    path: '/devices',
    tag: 'devices',
    summary:
      'Provision a gateway device for an existing vehicle (vehicleId) or a new one (vehicle, default: named after the device)',
    access: { permission: 'devices:write' },
    body: provisionBody,
    response: {
      status: 201,
      description: 'The device and its MQTT login (shown once)',
      schema: loginResult,
      headers: ['Location'],
    },
    errors: ['TENANT_NOT_FOUND', 'VEHICLE_NOT_FOUND', 'DEVICE_EXISTS', 'INVALID_ID'],
    handle: async ({ scope, body, ctx }) => {
      const result = await devices.provision(scope, body);
      ctx.set('Cache-Control', 'no-store');
      ctx.set('Location', `/api/vehicles/${result.vehicleId}`);
      return result;
    },
  });

  router.route({
    method: 'post',
    path: '/devices/:tenantId/:deviceId/credentials',
    tag: 'devices',
    summary:
      'Rotate the device credential: a new password (shown once); the old one stops working and its sessions end',
    access: { permission: 'devices:write' },
    params: deviceParams,
    response: { status: 200, description: 'The new MQTT login', schema: loginResult },
    errors: ['DEVICE_NOT_FOUND'],
    handle: async ({ scope, params, ctx }) => {
      const result = await devices.rotate(scope, params.tenantId, params.deviceId);
      ctx.set('Cache-Control', 'no-store');
      return result;
    },
  });

  router.route({
    method: 'delete',
    path: '/devices/:tenantId/:deviceId/credentials',
    tag: 'devices',
    summary: 'Revoke the device credential and end its live MQTT sessions (idempotent)',
    access: { permission: 'devices:write' },
    params: deviceParams,
    response: { status: 204, description: 'Revoked (or had no live credential)' },
    errors: ['DEVICE_NOT_FOUND'],
    handle: async ({ scope, params }) => {
      await devices.revoke(scope, params.tenantId, params.deviceId);
      return undefined;
    },
  });
}
