export type { SignalFormat, SignalDefinition, ObdCommand, Signalset, YearFilter } from './types.js';
export {
  parseSignalset, loadSignalsetFile, loadSignalset, sae1979Signalset, findCommandForSignal, findMode01Command,
  commandAppliesToYear, SignalsetError,
} from './loader.js';
export { genericDtcTable, parseDtcTable, dtcDescription, type DtcTable } from './dtc.js';
export { decodeVin, modelYearOf, checkDigit, type DecodedVin } from './vin.js';
export { selectProfile, vehicleProfiles, type ProfileChoice, type VehicleProfileEntry } from './select.js';
