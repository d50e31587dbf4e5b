/** OBDb signal format (github.com/OBDb `.schemas`): value = raw * mul / div + add, clamped to [min, max]. */
export interface SignalFormat {
  /** Start bit, counted from the MSB of the first data byte after the service/PID echo. */
  readonly bix?: number;
  /** Width in bits, read MSB-first. */
  readonly len: number;
  /** Two's complement over `len` bits. */
  readonly sign?: boolean;
  /** Byte-reversed (little-endian) field; only meaningful when len > 8. */
  readonly blsb?: boolean;
  readonly mul?: number;
  readonly div?: number;
  readonly add?: number;
  readonly min?: number;
  readonly max?: number;
  /** Decoded values at or below / at or above these mean "not available". */
  readonly nullmin?: number;
  readonly nullmax?: number;
  /** Enumeration: raw value (decimal string) -> label. */
  readonly map?: Readonly<Record<string, { readonly value: string; readonly description?: string }>>;
  readonly unit?: string;
}

export interface SignalDefinition {
  readonly id: string;
  readonly name: string;
  readonly path?: string;
  readonly description?: string;
  readonly suggestedMetric?: string;
  readonly fmt: SignalFormat;
}

export interface YearFilter {
  readonly from?: number;
  readonly to?: number;
  readonly years?: readonly number[];
}

export interface ObdCommand {
  /** Request CAN header, e.g. '7E0'. */
  readonly hdr?: string;
  /** Receive address (response CAN id), e.g. '7E8'. */
  readonly rax?: string;
  /** Extended address byte (hex) placed before the PCI. */
  readonly eax?: string;
  /** Top 5 bits of a 29-bit request id, two hex digits (ISO 15765-4 default 18). */
  readonly pri?: string;
  /** Tester (source) address, two hex digits (default F1). */
  readonly tst?: string;
  /** Reply timeout for the ELM327's ATST (hex, x 4 ms). */
  readonly tmo?: string;
  /** The ECU needs a flow control frame addressed to its request id (ATFCSM1). */
  readonly fcm1?: boolean;
  /** Service -> PID/DID, e.g. { '01': '0C' } or { '22': '1F2F' }. */
  readonly cmd: Readonly<Record<string, string>>;
  /** Suggested polling period in seconds. */
  readonly freq?: number;
  readonly filter?: YearFilter;
  readonly dbgfilter?: YearFilter;
  readonly signals: readonly SignalDefinition[];
}

export interface Signalset {
  readonly $license?: string;
  readonly commands: readonly ObdCommand[];
}
