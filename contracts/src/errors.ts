/**
 * Base of every domain error in Clutch. Each package keeps a catalogue of codes; HTTP and MQTT edges
 * map `code` (never `instanceof`) to a status or reason code.
 */
export class ClutchError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ClutchError';
    this.code = code;
    this.details = details;
  }
}

export function isClutchError(err: unknown): err is ClutchError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { code?: unknown }).code === 'string' &&
    err instanceof Error
  );
}
