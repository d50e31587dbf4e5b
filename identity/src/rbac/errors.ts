import { ClutchError } from '@clutch/contracts';

/**
 * The RBAC error catalogue. The API answers each under the code of the same name
 * (api/src/errors.ts), so a refused role change reads the same from every door.
 */
export const rbacErrors = {
  INVALID_CONDITION: 'the condition is not in the condition language',
  ROLE_CYCLE: 'a role cannot inherit from itself, directly or through other roles',
} as const;

export type RbacErrorCode = keyof typeof rbacErrors;

export function rbacError(code: RbacErrorCode, details?: Record<string, unknown>): ClutchError {
  return new ClutchError(code, rbacErrors[code], details);
}
