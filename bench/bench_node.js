'use strict';
// Run by bench_node.py: sequential GETs through amocrmAuth(axios) and through bare axios with
// a fixed bearer header, in alternating blocks; then both again through an adapter that answers
// at once (no network); prints the seconds of each block as JSON.
const path = require('node:path');

const CLIENT = path.resolve(__dirname, '..', 'clients', 'node');
const axios = require(require.resolve('axios', { paths: [CLIENT] }));
const { amocrmAuth } = require(CLIENT);

async function gets(instance, url, n) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i += 1) await instance.get(url);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function main() {
  const [baseUrl, envPath, command, token, blocks, perBlock] = process.argv.slice(2);
  const url = '/api/v4/account';
  const bare = axios.create({ baseURL: baseUrl, headers: { Authorization: `Bearer ${token}` } });
  const ours = amocrmAuth(axios.create(), { env: envPath, command });
  const first = await gets(ours, url, 1); // the one helper run of a process start
  await gets(bare, url, 50);
  await gets(ours, url, 50); // warm up connections and the JIT
  const result = { first, bare: [], ours: [] };
  // Which goes first alternates too: the second of a pair may find a busier machine.
  for (let i = 0; i < Number(blocks); i += 1) {
    if (i % 2) result.ours.push(await gets(ours, url, Number(perBlock)));
    result.bare.push(await gets(bare, url, Number(perBlock)));
    if (!(i % 2)) result.ours.push(await gets(ours, url, Number(perBlock)));
  }
  // The same with a network that costs nothing: only what the interceptors add is left.
  const adapter = async (config) => ({ data: {}, status: 200, statusText: 'OK', headers: {}, config });
  const bareLocal = axios.create({ adapter, baseURL: baseUrl, headers: { Authorization: `Bearer ${token}` } });
  const oursLocal = amocrmAuth(axios.create({ adapter }), { env: envPath, command });
  await gets(oursLocal, url, 1);
  result.bareLocal = [];
  result.oursLocal = [];
  for (let i = 0; i < 5; i += 1) {
    result.bareLocal.push(await gets(bareLocal, url, 20000));
    result.oursLocal.push(await gets(oursLocal, url, 20000));
  }
  console.log(JSON.stringify(result));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
