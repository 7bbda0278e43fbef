// node-postgres (`pg`) against a running eddy server (cli/tests/e2e/clients.rs starts it and
// passes its port): connect, a parameterized query (Parse without parameter types, text
// values), a table and a stream written and read with parameters, a catalog query, and a
// push query with a LIMIT read while a second client writes. Prints "node-postgres ok" when
// every check holds.
'use strict';
const assert = require('node:assert/strict');
const { Client } = require('pg');

const config = { host: '127.0.0.1', port: Number(process.argv[2]), user: 'eddy', database: 'eddy' };

async function main() {
  const client = new Client(config);
  await client.connect();
  // Eddy's integer literals are BIGINT, which node-postgres reads as a string (a BIGINT
  // does not fit a JS number in general).
  const sum = await client.query('SELECT $1::int + 1 AS n', [41]);
  assert.equal(sum.rows[0].n, '42');

  await client.query('CREATE TABLE devices (id BIGINT PRIMARY KEY, name STRING, seen TIMESTAMP)');
  await client.query('CREATE STREAM readings (device BIGINT KEY, celsius DOUBLE)');
  await client.query('INSERT INTO devices (id, name, seen) VALUES ($1, $2, $3)', [1, 'probe', '2026-01-02 03:04:05']);
  await client.query('INSERT INTO devices (id, name, seen) VALUES ($1, $2, $3)', [2, 'fan', '2026-01-02 03:04:06']);
  const devices = await client.query('SELECT id, name FROM devices WHERE id >= $1 ORDER BY id', [1]);
  assert.deepEqual(devices.rows, [{ id: '1', name: 'probe' }, { id: '2', name: 'fan' }]);
  assert.deepEqual(devices.fields.map((field) => field.name), ['id', 'name']);
  const seen = await client.query('SELECT seen FROM devices WHERE id = $1', [1]);
  assert.ok(seen.rows[0].seen instanceof Date, `a TIMESTAMP is a Date: ${seen.rows[0].seen}`);

  const catalog = await client.query(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
    ['public'],
  );
  assert.ok(catalog.rows.some((row) => row.table_name === 'devices'), JSON.stringify(catalog.rows));

  // The push query starts at the end of the stream: write until it has seen its rows.
  const writer = new Client(config);
  await writer.connect();
  let writing = true;
  const writes = (async () => {
    for (let n = 100; writing && n < 2000; n += 1) {
      await writer.query('INSERT INTO readings (device, celsius) VALUES ($1, $2)', [n, 21.5]);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const pushed = await client.query(
    'SELECT device, celsius FROM readings WHERE device >= $1 EMIT CHANGES LIMIT 2',
    [100],
  );
  writing = false;
  await writes;
  assert.equal(pushed.rows.length, 2);
  for (const row of pushed.rows) {
    assert.ok(Number(row.device) >= 100 && row.celsius === 21.5, JSON.stringify(row));
  }
  await writer.end();
  await client.end();
  console.log('node-postgres ok');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
