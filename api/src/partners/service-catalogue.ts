/**
 * The one catalogue of services a shop can offer (issue 15). `partner_services.code` holds one of
 * these codes (the API validates it; the database does not, so adding a code is a code change, not a
 * migration). Nearby search filters by them and M4 maps trouble codes onto them.
 *
 * `nameKey` is the message catalogue key of the service's display name (i18n/messages/en.json); a
 * shop's own `partner_services.name` is what it calls the service on its listing.
 */
export const SERVICE_CODES = [
  'diagnostics',
  'oil_change',
  'brakes',
  'tyres',
  'battery',
  'ignition',
  'exhaust',
  'cooling',
  'transmission',
  'suspension',
  'air_conditioning',
  'electrical',
  'inspection',
  'general_repair',
] as const;

export type ServiceCode = (typeof SERVICE_CODES)[number];

export interface ServiceCatalogueEntry {
  code: ServiceCode;
  /** Message key of the display name, e.g. `marketplace.service.oil_change`. */
  nameKey: string;
}

export const SERVICE_CATALOGUE: readonly ServiceCatalogueEntry[] = SERVICE_CODES.map((code) => ({
  code,
  nameKey: `marketplace.service.${code}`,
}));

const CODES: ReadonlySet<string> = new Set(SERVICE_CODES);

export function isServiceCode(value: unknown): value is ServiceCode {
  return typeof value === 'string' && CODES.has(value);
}
