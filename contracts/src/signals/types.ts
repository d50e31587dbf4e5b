/** One entry of the shared signal vocabulary. Ranges are the SAE J1979 encodable range: a value
 * outside it cannot have come from a healthy sensor and is refused at ingest. */
export interface SignalDefinition {
  /** Small stable integer stored in the database instead of the key. */
  readonly id: number;
  /** Dotted, lower-case key used in payloads and the API, e.g. `engine.rpm`. */
  readonly key: string;
  readonly name: string;
  /** `obd`: a Mode 01 PID; `elm327`: an adapter command such as ATRV. */
  readonly source: 'obd' | 'elm327';
  /** OBDb signal id in the SAEJ1979 signalset (obd signals only). */
  readonly obdb?: string;
  /** Service and PID as two-digit hex, e.g. '01' and '0C'. */
  readonly service?: string;
  readonly pid?: string;
  /** Adapter command for elm327 signals. */
  readonly command?: string;
  /** Unit symbol ('' for dimensionless). */
  readonly unit: string;
  readonly min: number;
  readonly max: number;
  /** Suggested polling period in seconds. */
  readonly pollSeconds?: number;
}
