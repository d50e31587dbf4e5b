import type { Queryable } from '@clutch/db';

export interface DeadLetter {
  tenantId: string | null;
  deviceId: string | null;
  topic: string;
  reason: string;
  payload: Buffer;
}

/** Keeps what could not be stored, with the reason, so it is never silently dropped. */
export async function recordDeadLetters(tx: Queryable, letters: readonly DeadLetter[]): Promise<void> {
  for (const letter of letters) {
    await tx.query(
      'INSERT INTO dead_letters (tenant_id, device_id, topic, reason, payload) VALUES ($1, $2, $3, $4, $5)',
      [letter.tenantId, letter.deviceId, letter.topic, letter.reason, letter.payload],
    );
  }
}
