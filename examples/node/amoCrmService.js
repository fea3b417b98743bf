'use strict';
// The seed's amoCrmService on amocrm-wizard-client. Gone: the refresh token, refreshAccessToken,
// the request queue, saveTokens/loadTokensFromDB. The helper does those for every process at once.
const axios = require('axios');
const { amocrmAuth } = require('amocrm-wizard-client');

const target = process.env.AMOCRM_DB ? { db: process.env.AMOCRM_DB } : { env: process.env.AMOCRM_ENV || '.env' };
const amoClient = amocrmAuth(axios.create({ timeout: 15000 }), {
  ...target,
  command: process.env.AMOCRM_WIZARD || 'amocrm-wizard',
});

async function testConnection() {
  const { data } = await amoClient.get('/api/v4/account');
  console.log(`✅ [AmoCRM] Подключение успешно: ${data.name}`);
  return data;
}

async function moveDealToStage(dealId, statusId) {
  await amoClient.patch(`/api/v4/leads/${dealId}`, { status_id: statusId });
  console.log(`✅ [AmoCRM] Сделка ${dealId} успешно перемещена на этап ${statusId}`);
}

module.exports = { amoClient, testConnection, moveDealToStage };
