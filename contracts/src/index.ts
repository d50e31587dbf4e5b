export type { SignalDefinition } from './signals/types.js';
export {
  signalCatalogue,
  saeSignals,
  vehicleSignals,
  signalByKey,
  signalById,
  signalByObdbId,
  signalsForProfile,
  signalProfiles,
  isVehicleSignal,
  isPlausible,
  type SignalKey,
} from './signals/catalogue.js';
export {
  TOPIC_ROOT,
  buildTopic,
  parseTopic,
  isValidSegment,
  topicFilters,
  type TopicAddress,
  type TopicKind,
} from './topics/topics.js';
export type { ParseResult } from './payloads/parse.js';
export {
  TELEMETRY_VERSION,
  TELEMETRY_LIMITS,
  telemetryBatchSchema,
  parseTelemetryBatch,
  isValidTelemetryBatch,
  sampleTime,
  type TelemetryBatch,
  type TelemetrySample,
} from './payloads/telemetry.js';
export {
  statusSchema,
  AGENT_STATES,
  locationSchema,
  dtcReportSchema,
  dtcCodeSchema,
  parseStatus,
  parseLocation,
  parseDtcReport,
  type DeviceStatus,
  type AgentState,
  type LocationFix,
  type DtcReport,
} from './payloads/device.js';
export { ClutchError, isClutchError } from './errors.js';
export {
  createInProcessBus,
  deliverToAll,
  isMarketplaceEvent,
  isChatEvent,
  isRevocation,
  type LiveAlert,
  type LiveEvent,
  type LiveEventBus,
  type LiveEventHandler,
  type MarketplaceEvent,
  type NotificationLiveEvent,
  type ChatEvent,
  type LiveChatMessage,
  type SealedChatBody,
  type RevocationEvent,
  type RolesChangedEvent,
  type StoredReading,
  type VehicleEvent,
} from './events/live-events.js';
export {
  COMMAND_TYPES,
  commandRequestSchema,
  commandResultSchema,
  parseCommandRequest,
  parseCommandResult,
  type CommandType,
  type CommandRequest,
  type CommandResult,
} from './payloads/commands.js';
