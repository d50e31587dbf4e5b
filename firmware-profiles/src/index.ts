export type { SignalFormat, SignalDefinition, ObdCommand, Signalset, YearFilter } from './types.js';
export {
  parseSignalset,
  loadSignalsetFile,
  loadSignalset,
  sae1979Signalset,
  findCommandForSignal,
  findMode01Command,
  commandAppliesToYear,
  SignalsetError,
} from './loader.js';
export { genericDtcTable, parseDtcTable, dtcDescription, type DtcTable } from './dtc.js';
export {
  dtcDescriptionsFromCsv,
  genericDtcDescriptions,
  loadDtcDescriptions,
  DTC_DATASET_FILE,
  type DtcDescriptions,
} from './dtc-descriptions.js';
export { decodeVin, modelYearOf, checkDigit, type DecodedVin } from './vin.js';
export { selectProfile, vehicleProfiles, type ProfileChoice, type VehicleProfileEntry } from './select.js';
export { datasetsDir, datasetAvailable, DATASETS_ENV } from './datasets/locate.js';
export { parseCsv } from './datasets/csv.js';
export {
  parseCarObdCsv,
  carObdDriveDir,
  listCarObdFiles,
  CAROBD_COLUMNS,
  CAROBD_DATASET,
  CAROBD_FILE,
  type CarObdColumn,
  type CarObdCsv,
  type CarObdRow,
} from './datasets/carobd.js';
