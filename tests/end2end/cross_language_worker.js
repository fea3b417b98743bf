'use strict';
// One Node backend process for test_cross_language.py: amocrmAuth(axios) on the shared target.
//   node cross_language_worker.js env|db WHERE HELPER COUNT
// Makes one request (the token cached), prints "ready", waits for a line on stdin, then
// makes COUNT requests at once and prints "done <how many answered 200>".
const path = require('node:path');
const readline = require('node:readline');

const CLIENT = path.resolve(__dirname, '..', '..', 'clients', 'node');
const axios = require(require.resolve('axios', { paths: [CLIENT] }));
const { amocrmAuth } = require(CLIENT);

async function main() {
  const [kind, where, command, count] = process.argv.slice(2);
  const amo = amocrmAuth(axios.create(), { [kind]: where, command });
  await amo.get('/api/v4/account');
  console.log('ready');
  const lines = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => lines.once('line', resolve));
  lines.close();
  const answers = await Promise.all(Array.from({ length: Number(count) }, () => amo.get('/api/v4/account')));
  console.log(`done ${answers.filter((answer) => answer.status === 200).length}`);
}

main().catch((error) => {
  console.error(`${error.code}: ${error.message}`);
  process.exit(1);
});
