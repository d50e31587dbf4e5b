import { createHash } from 'node:crypto';

/** What a block stops (migration 035). */
export const BLOCK_SUBJECTS = ['user', 'device', 'card', 'ip'] as const;
export type BlockSubject = (typeof BLOCK_SUBJECTS)[number];

/**
 * The stored form of a blocked value or a card fingerprint: SHA-256 of `<subject>:<value>`, hex.
 * The prefix keeps a device id that happens to equal an IP from matching the IP's block. A user is
 * named with its tenant (`<tenant>/<user>`), since user ids are only unique per tenant.
 */
export function subjectHash(subject: BlockSubject, value: string): string {
  return createHash('sha256').update(`${subject}:${value}`, 'utf8').digest('hex');
}

export const userKey = (tenantId: string, userId: string | null): string => `${tenantId}/${userId ?? '-'}`;

/** A short hint for the review queue that does not give the value away. */
export function subjectLabel(subject: BlockSubject, value: string): string {
  if (subject === 'ip') {
    const v4 = /^(\d+\.\d+)\.\d+\.\d+$/.exec(value);
    if (v4) return `${v4[1]}.x.x`;
    return `${value.split(':').slice(0, 2).join(':')}:…`;
  }
  if (subject === 'user') return value;
  return `…${value.slice(-4)}`;
}
