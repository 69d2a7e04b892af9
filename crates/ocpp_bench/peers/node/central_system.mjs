// A minimal OCPP 1.6J central system on npm `ocpp-rpc` in strict mode (every call and answer
// checked against the OCPP 1.6 schemas): the benchmark's peer that keeps everything in memory,
// each charger's boot, statuses, transactions and every meter value.
// Usage: node central_system.mjs [port]
import { createRequire } from 'node:module';

// ocpp-rpc is installed once for the project, with the interoperability tests' charger.
const require = createRequire(new URL('../../../../tests/interop-node/package.json', import.meta.url));
const { RPCServer } = require('ocpp-rpc');

const port = Number(process.argv[2] ?? 8092);
const HEARTBEAT_INTERVAL = 300;
const chargers = new Map();
let lastTransactionId = 0;

const server = new RPCServer({ protocols: ['ocpp1.6'], strictMode: true });
server.on('client', (client) => {
  const charger = { boot: null, statuses: new Map(), transactions: new Map(), lastHeartbeat: null };
  chargers.set(client.identity, charger);
  client.handle('BootNotification', ({ params }) => {
    charger.boot = params;
    return { status: 'Accepted', currentTime: new Date().toISOString(), interval: HEARTBEAT_INTERVAL };
  });
  client.handle('Heartbeat', () => {
    charger.lastHeartbeat = new Date();
    return { currentTime: charger.lastHeartbeat.toISOString() };
  });
  client.handle('StatusNotification', ({ params }) => {
    charger.statuses.set(params.connectorId, params);
    return {};
  });
  client.handle('Authorize', () => ({ idTagInfo: { status: 'Accepted' } }));
  client.handle('StartTransaction', ({ params }) => {
    const transactionId = ++lastTransactionId;
    charger.transactions.set(transactionId, { start: params, meterValues: [], stop: null });
    return { transactionId, idTagInfo: { status: 'Accepted' } };
  });
  client.handle('MeterValues', ({ params }) => {
    charger.transactions.get(params.transactionId)?.meterValues.push(...params.meterValue);
    return {};
  });
  client.handle('StopTransaction', ({ params }) => {
    const transaction = charger.transactions.get(params.transactionId);
    if (transaction) transaction.stop = params;
    return {};
  });
});

await server.listen(port, '127.0.0.1');
console.log(`listening on 127.0.0.1:${port}`);
