import type { Logger } from 'pino';
import { checkKeyRing, devKeyRing, type ChatKeyRing } from './crypto.js';

/**
 * The key ring the API seals chat bodies with: the platform's (`DomainDeps.chat.keyRing`, from
 * CLUTCH_CHAT_KEYS or ./data), else the development key, with a warning (once per API: it builds its
 * chat service once): anyone can derive that key, so bodies sealed with it are only encoded, not secret.
 */
export function chatKeyRingOf(chat: { keyRing: ChatKeyRing } | undefined, logger: Logger): ChatKeyRing {
  if (chat) return checkKeyRing(chat.keyRing);
  logger.warn('chat: no key ring configured (CLUTCH_CHAT_KEYS): message bodies are sealed with the development key');
  return devKeyRing();
}
