export { ElmFramer, ELM_PROMPT } from './elm327/framer.js';
export { parseResponse, type ElmResponse, type ElmErrorKind } from './elm327/response.js';
export { Elm327Driver } from './elm327/driver.js';
export { parseVoltage, decodeVoltageReply, plausibleBatteryVoltage } from './elm327/voltage.js';
export { agentErrors, agentError, agentErrorCode, isNoReply, type AgentErrorCode } from './errors.js';
export { parseFrames, type ObdMessage, type HeaderMode } from './obd/frames.js';
export {
  decodeSignal,
  decodeCommand,
  decodeMode01Multi,
  selectMessage,
  commandData,
  commandDataLength,
  readBits,
  echoLength,
  type SignalValue,
  type DecodeOptions,
  type PidValues,
} from './obd/decoder.js';
export { encodeSignalValue, encodeCommandData } from './obd/encoder.js';
export { mode01Request, decodeMode01Reply, compareEcus, MAX_PIDS_PER_REQUEST } from './obd/mode01.js';
export type { Reading, DecodedReply } from './obd/readings.js';
export { vinFromLines } from './obd/vin.js';
export {
  pidsFromBitmap,
  bitmapFromPids,
  supportedPidsFromMessages,
  hasNextRange,
  pidHex,
} from './obd/supported-pids.js';
export {
  commandAddressing,
  addressingCommands,
  addressingKey,
  busDefault,
  protocolNumber,
  supportsExtendedReceive,
  type AdapterSupport,
  type Addressing,
  type AddressedCommand,
  type CommandAddressing,
} from './obd/addressing.js';
export { openSerialPort, releaseStream } from './transport/serial-port.js';
export { backoffDelay, type BackoffOptions } from './transport/backoff.js';
export {
  loadCarObdDrive,
  listCarObdDrives,
  driveFromCarObd,
  carObdDriveFromText,
  type DriveSource,
} from './simulator/drive.js';
export { syntheticDrive } from './simulator/synthetic-drive.js';
export { createLinkedStreams } from './simulator/streams.js';
export { Elm327Simulator, SIMULATOR_BANNER, DEFAULT_VIN, type SimulatorOptions } from './simulator/elm327-simulator.js';
export { startSimulator, type StartSimulatorOptions, type RunningSimulator } from './simulator/start.js';
export {
  startAgent,
  defaultQueueDir,
  AGENT_VERSION,
  type AgentOptions,
  type AgentTransport,
  type AgentStats,
  type AgentState,
  type RunningAgent,
} from './agent/agent.js';
export { initialiseAdapter, waitForAdapter, type AdapterInfo, type AdapterWaitOptions } from './agent/session.js';
export { TelemetryBatcher } from './store/batcher.js';
export {
  buildPollPlan,
  nextRequest,
  markRead,
  markFailed,
  vehicleCommands,
  type PollItem,
  type PollPlanOptions,
  type PollRequest,
  type VehicleCommand,
} from './agent/poll-plan.js';
export { MqttPublisher, type MqttPublisherOptions } from './uplink/mqtt-publisher.js';
export type { TelemetryPublisher, UplinkKind, CommandDelivery } from './uplink/publisher.js';
export { QueueDrainer, DEFAULT_INFLIGHT_WINDOW, type DrainerOptions } from './uplink/drainer.js';
export {
  DiskQueue,
  DEFAULT_QUEUE_MAX_BYTES,
  writeFileDurable,
  type DiskQueueOptions,
  type DiskQueueStats,
} from './store/disk-queue.js';
export { Outbox, type OutboxOptions } from './store/outbox.js';
export { AdapterLink } from './agent/adapter-link.js';
export { startPoller, type Poller, type PollerOptions } from './agent/poller.js';
export { simulatedVehicle, makeVin, type SimulatedVehicle } from './simulator/vehicles.js';
export { loadObdbReplay, requestKey, type ObdbReplay, type ReplayAnswer } from './simulator/obdb-replay.js';
export { runDecodeTests, parseCommandId, isUpstreamFuelTrimCase, type DecodeTestReport } from './obdb/decode-tests.js';
export {
  readDiagnostics,
  readDtcs,
  clearDtcs,
  dtcReport,
  type Diagnostics,
  type DiagnosticCode,
} from './diagnostics/diagnostics.js';
export { decodeDtc } from './diagnostics/dtc.js';
export { parseCommand, type AgentCommand, type CommandResult } from './downlink/command-schema.js';
export { parseNmea, FixBuilder, nmeaChecksum } from './gps/nmea.js';
export { startGpsReader, type GpsReader } from './gps/gps-reader.js';
export { CONFIG_KEYS, parseConfig, configEnvName, configFromEnv, type AgentConfig } from './config.js';
export {
  type SimulatorQuirks,
  type AdapterPersonality,
  type PersonalityName,
  PERSONALITIES,
  encodeDtc,
} from './simulator/elm327-simulator.js';
export { RequestCapability } from './obd/request-capability.js';
