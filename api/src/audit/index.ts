export {
  AUDIT_OUTCOMES,
  AuditRepository,
  recordAudit,
  recordSecurityEvent,
  type AuditOutcome,
  type AuditRow,
  type SecurityEvent,
} from './repository.js';
export { describeChainReport, verifyAuditChain, GENESIS_HASH, type ChainBreak, type ChainReport } from './chain.js';
