/** One entry of the shared signal vocabulary. Ranges are what a healthy sensor can report (the SAE J1979
 * encodable range, or for a vehicle-specific signal the range its OBDb format decodes to): a value outside
 * it is refused at ingest. */
export interface SignalDefinition {
  /** Small stable integer stored in the database instead of the key (vehicle-specific signals: 10000 up). */
  readonly id: number;
  /** Dotted, lower-case key used in payloads and the API, e.g. `engine.rpm`, `vehicle.camry_12v_v`. */
  readonly key: string;
  /** Display name: OBDb's signal name (data, not UI text). */
  readonly name: string;
  /** `obd`: read with an OBD service (Mode 01, or 21/22 for vehicle-specific); `elm327`: an adapter command such as ATRV. */
  readonly source: 'obd' | 'elm327';
  /** OBDb signal id: in the SAEJ1979 signalset, or in the vehicle profile named by `profile`. */
  readonly obdb?: string;
  /** Service and PID/DID as hex, e.g. '01' and '0C', or '22' and '1F2F'. */
  readonly service?: string;
  readonly pid?: string;
  /** Request CAN header of a vehicle-specific command (OBDb `hdr`), e.g. '7E0'. */
  readonly header?: string;
  /** OBDb vehicle profile the signal comes from (e.g. 'Toyota-Camry'); absent for SAE and adapter signals. */
  readonly profile?: string;
  /** Adapter command for elm327 signals. */
  readonly command?: string;
  /** Unit symbol ('' for dimensionless, enumerations and two-state values). */
  readonly unit: string;
  readonly min: number;
  readonly max: number;
  /** Suggested polling period in seconds. */
  readonly pollSeconds?: number;
  /**
   * An enumeration: the value is the raw code (decimal string here) and this is OBDb's description of each
   * code. The agent publishes the code, never the description.
   */
  readonly values?: Readonly<Record<string, string>>;
  /** A two-state value (0 or 1) in OBDb's wording: 'offon' (1 = on), 'onoff' (1 = off), 'noyes' (1 = yes). */
  readonly states?: 'offon' | 'onoff' | 'noyes';
}
