// What the platform and other packages use of chat (the wiring: key ring, notifications, demo seed).
export { checkKeyRing, devKeyRing, parseChatKeys, type ChatKeyRing } from './crypto.js';
export { ensureBookingRoom } from './seed.js';
export { openLiveMessage, type ChatMessageView, type ChatRoomView } from './views.js';
