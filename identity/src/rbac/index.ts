export {
  PERMISSIONS,
  PERMISSION_NAMES,
  API_KEY_PERMISSIONS,
  API_KEY_IMPLIED_PERMISSIONS,
  SHAREABLE_PERMISSIONS,
  isPermission,
  type Permission,
  type PermissionInfo,
  type PermissionStatus,
} from './permissions.js';
export {
  parseCondition,
  conditionKey,
  OWNERSHIPS,
  SUBJECT_FIELDS,
  type Condition,
  type Ownership,
  type Literal,
} from './conditions.js';
export {
  decide,
  evaluateCondition,
  compileSnapshot,
  uncoveredRules,
  roleRules,
  heldRules,
  grantActive,
  roleApplies,
  bindingMatches,
  EMPTY_SNAPSHOT,
  PLATFORM_TENANT,
  CONSUMER_TENANT,
  TENANT_KINDS,
  type Decision,
  type Grant,
  type PolicySnapshot,
  type CompiledRole,
  type Resource,
  type ResourceRef,
  type ResourceShare,
  type RoleDefinition,
  type Rule,
  type Subject,
} from './policy.js';
export { BUILT_IN_ROLES, type BuiltInRole } from './built-in-roles.js';
export { findCycle } from './graph.js';
export {
  createPolicyStore,
  loadRoleDefinitions,
  loadUserGrants,
  type PolicyStore,
  type PolicyStoreOptions,
  type SubjectRef,
} from './store.js';
export { effectivePermissions, type EffectivePermissions, type EffectiveRole } from './effective.js';
export { rbacErrors, rbacError, type RbacErrorCode } from './errors.js';
export { loadVehicleResources, loadDeviceVehicleResource } from './vehicle-resources.js';
