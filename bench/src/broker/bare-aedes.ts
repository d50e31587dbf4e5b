// aedes with its defaults and no hooks on a plain TCP server: the floor our broker's policy, packet
// guard and session bookkeeping add to. `node bare-aedes.js <port>`.
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2]);
const aedes = await Aedes.createBroker();
const server = createServer((socket) => aedes.handle(socket));
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  aedes.close(() => process.exit(0));
});
