'use strict';
// A seed-style backend without Express: when a student finishes a lesson, the deal moves on.
//
//   npm install && AMOCRM_ENV=/srv/backend/.env LESSON_DONE_STATUS_ID=142 node server.js
//   curl -X POST localhost:3000/lessons/10001/done
const http = require('node:http');
const { moveDealToStage } = require('./amoCrmService');

const DONE_STATUS = Number(process.env.LESSON_DONE_STATUS_ID || 142);
const LESSON_DONE = /^\/lessons\/(\d+)\/done$/;

function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function lessonDone(dealId, res) {
  try {
    await moveDealToStage(dealId, DONE_STATUS);
    send(res, 200, { deal: dealId, status_id: DONE_STATUS });
  } catch (error) {
    if (error.code === 'AMOCRM_REAUTH') {
      console.error(`❌ [AmoCRM] ${error.message}`); // the helper says what to do
      send(res, 503, { error: 'amoCRM is disconnected; an admin must run amocrm-wizard again' });
    } else if (error.code === 'AMOCRM_UNAVAILABLE') {
      send(res, 503, { error: 'amoCRM is unavailable; try again later' });
    } else {
      send(res, 502, { error: `amoCRM answered ${error.response ? error.response.status : error.code}` });
    }
  }
}

function createServer() {
  return http.createServer((req, res) => {
    const match = req.method === 'POST' && LESSON_DONE.exec(req.url);
    if (match) lessonDone(Number(match[1]), res);
    else send(res, 404, { error: 'not found' });
  });
}

if (require.main === module) {
  const port = Number(process.env.PORT || 3000);
  createServer().listen(port, () => console.log(`Backend on http://localhost:${port}`));
}

module.exports = { createServer };
