declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis';
  interface RedisPersistenceOptions {
    conn?: Redis;
    maxSessionDelivery?: number;
    packetTTL?: () => number;
  }
  const persistence: (options?: RedisPersistenceOptions) => unknown;
  export default persistence;
}
