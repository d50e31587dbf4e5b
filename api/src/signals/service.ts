import { signalById, type SignalDefinition } from '@clutch/contracts';
import type { Scope } from '../auth/scope.js';
import { requireVehicleData } from '../vehicles/access.js';
import { vehicleSignalIds } from './repository.js';

/** A signal as a vehicle's signal list shows it. */
export interface VehicleSignal {
  signal: string;
  name: string;
  unit: string;
  min: number;
  max: number;
  /** The OBDb vehicle profile of a vehicle-specific signal; absent for SAE J1979 and adapter signals. */
  profile?: string;
  values?: Readonly<Record<string, string>>;
  states?: SignalDefinition['states'];
}

function describe(signal: SignalDefinition): VehicleSignal {
  return {
    signal: signal.key,
    name: signal.name,
    unit: signal.unit,
    min: signal.min,
    max: signal.max,
    ...(signal.profile !== undefined ? { profile: signal.profile } : {}),
    ...(signal.values !== undefined ? { values: signal.values } : {}),
    ...(signal.states !== undefined ? { states: signal.states } : {}),
  };
}

/**
 * The signals a vehicle has sent (any stored sample or rollup), SAE ones first, in catalogue id order.
 * Ids no longer in the catalogue are left out: the catalogue names what the API can describe.
 */
export async function listVehicleSignals(
  scope: Scope,
  vehicleId: string,
): Promise<{ vehicleId: string; signals: VehicleSignal[] }> {
  const ids = await scope.run(async (q) => {
    await requireVehicleData(q, vehicleId, 'telemetry:read');
    return vehicleSignalIds(q, vehicleId);
  });
  const signals = ids.flatMap((id) => {
    const signal = signalById(id);
    return signal ? [describe(signal)] : [];
  });
  return { vehicleId, signals };
}
