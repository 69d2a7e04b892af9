// A charger made with ocpp-rpc in strict mode (every message it sends and receives is checked
// against the OCPP 1.6 schemas) boots, reports, and runs a transaction against Joule.
// Usage: JOULE_URL=http://127.0.0.1:8080 JOULE_API_KEY=... node charger.mjs
import { RPCClient } from 'ocpp-rpc';
import assert from 'node:assert/strict';

const base = process.env.JOULE_URL;
const key = process.env.JOULE_API_KEY;

async function api(method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const envelope = await response.json();
  assert.equal(envelope.ok, true, `${method} ${path}: ${envelope.message}`);
  return envelope.result;
}

const identity = `RPC-${process.pid}`;
const station = await api('POST', '/v1.1/chargestations', { endpoint: identity });
await api('POST', '/v1.1/tokens', { physicalId: `TAG-${process.pid}` });

const client = new RPCClient({
  endpoint: `${base.replace('http', 'ws')}/ocpp`,
  identity,
  protocols: ['ocpp1.6'],
  strictMode: true,
  reconnect: false,
});
client.handle('Reset', () => ({ status: 'Accepted' }));
await client.connect();

const boot = await client.call('BootNotification', { chargePointVendor: 'ocpp-rpc', chargePointModel: 'strict' });
assert.equal(boot.status, 'Accepted');
await client.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Preparing' });
const start = await client.call('StartTransaction', { connectorId: 1, idTag: `TAG-${process.pid}`, meterStart: 0, timestamp: new Date().toISOString() });
assert.equal(start.idTagInfo.status, 'Accepted');
await client.call('MeterValues', {
  connectorId: 1,
  transactionId: start.transactionId,
  meterValue: [{ timestamp: new Date().toISOString(), sampledValue: [{ value: '1.25', unit: 'kWh', measurand: 'Energy.Active.Import.Register' }] }],
});
const reset = await api('POST', `/v1.1/chargestations/${station._id}/commands/Reset`, { type: 'Soft' });
assert.deepEqual(reset, { status: 'Accepted' });
await client.call('StopTransaction', { transactionId: start.transactionId, meterStop: 2500, timestamp: new Date().toISOString(), reason: 'EVDisconnected' });

const [transaction] = await api('GET', `/v1.1/chargestations/${station._id}/transactions`);
assert.equal(transaction.transactionId, start.transactionId);
assert.equal(transaction.meterStop, 2500);
assert.equal(transaction.stopReason, 'EVDisconnected');
const [session] = await api('GET', `/v1.1/sessions?chargestation=${station._id}`);
assert.equal(session.status, 'ended');
await client.close();
console.log('ocpp-rpc strict: boot, status, transaction, meter values and a command passed');
