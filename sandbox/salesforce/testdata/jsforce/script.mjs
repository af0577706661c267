// Drives the Salesforce sandbox with an unmodified jsforce 3.x, as an integration would, and
// prints what it saw as one JSON object for salesforce_jsforce_test.go to check.
//
//   node script.mjs <sandbox-url> [refresh|password]
import jsforce from 'jsforce';

const [url, mode = 'refresh'] = process.argv.slice(2);
if (!url) {
  console.error('usage: node script.mjs <sandbox-url> [refresh|password]');
  process.exit(2);
}

const oauth2 = new jsforce.OAuth2({
  loginUrl: url,
  clientId: 'sandbox-client-id',
  clientSecret: 'sandbox-client-secret',
  redirectUri: url + '/oauth/callback',
});

const out = { mode };
let conn;
let refreshed = 0;
if (mode === 'password') {
  conn = new jsforce.Connection({ oauth2, version: '50.0' });
  const info = await conn.login('sandbox@mapsync.example', 'sandbox-password');
  out.login = { userId: info.id, organizationId: info.organizationId };
} else {
  // A stale access token: the first call gets 401 INVALID_SESSION_ID, jsforce refreshes with the
  // refresh token and replays the call.
  conn = new jsforce.Connection({
    oauth2, instanceUrl: url, accessToken: 'stale-token', refreshToken: 'sandbox-refresh-token', version: '50.0',
  });
  conn.on('refresh', () => { refreshed++; });
}

// Paging: autoFetch follows nextRecordsUrl (jsforce rebuilds it from the locator).
const soql = 'SELECT Id, Name, StageName, Amount, CloseDate, SystemModstamp FROM Opportunity ORDER BY SystemModstamp ASC, Id ASC';
const all = await conn.query(soql, {
  autoFetch: true, maxFetch: 1000000, headers: { 'Sforce-Query-Options': 'batchSize=200' },
});
out.query = {
  totalSize: all.totalSize, fetched: all.records.length, done: all.done,
  distinct: new Set(all.records.map((r) => r.Id)).size, first: all.records[0],
};
out.refreshed = refreshed;
const who = await conn.identity();
out.identity = { userId: who.user_id, organizationId: who.organization_id, username: who.username };
out.instanceUrl = conn.instanceUrl;

const count = await conn.query('SELECT COUNT() FROM Opportunity WHERE IsClosed = false');
out.openCount = count.totalSize;

const deleted = await conn.query('SELECT Id FROM Opportunity WHERE IsDeleted = true', { autoFetch: true, scanAll: true });
out.queryAllDeleted = deleted.totalSize;

// Describe.
const d = await conn.sobject('Opportunity').describe();
const status = d.fields.find((f) => f.name === 'MAP_Status__c');
out.describe = {
  name: d.name, fields: d.fields.length,
  status: { type: status.type, restricted: status.restrictedPicklist, values: status.picklistValues.map((p) => p.value) },
};

// Updates: one record (PATCH sobjects/Opportunity/id) and a collection (PATCH composite/sobjects).
const [a, b, c] = all.records;
out.single = await conn.sobject('Opportunity').update({ Id: a.Id, MAP_Status__c: 'On Track', MAP_Progress__c: 40 });
out.collection = await conn.sobject('Opportunity').update([
  { Id: b.Id, MAP_Status__c: 'At Risk', MAP_Next_Step__c: 'Security review' },
  { Id: c.Id, MAP_Status__c: 'Nope' },
], { allOrNone: false });
let singleError = null;
try {
  await conn.sobject('Opportunity').update({ Id: c.Id, Name: 'x'.repeat(121) });
} catch (e) {
  singleError = { name: e.name, errorCode: e.errorCode };
}
out.singleError = singleError;

// Read back: one record, and many through POST composite/sobjects/Opportunity (after a describe).
out.readSingle = await conn.sobject('Opportunity').retrieve(a.Id);
out.readMany = await conn.sobject('Opportunity').retrieve([a.Id, b.Id, c.Id]);

// Create and replication.
out.created = await conn.sobject('Opportunity').create({ Name: 'jsforce deal', StageName: 'Prospecting', CloseDate: '2027-03-31' });
const now = new Date();
const upd = await conn.sobject('Opportunity').updated(new Date(now.getTime() - 3600e3), new Date(now.getTime() + 120e3));
out.updatedIds = upd.ids;
const del = await conn.sobject('Opportunity').deleted(new Date(now.getTime() - 3600e3), new Date(now.getTime() + 120e3));
out.deletedIds = del.deletedRecords.map((d) => d.id);
out.limitInfo = conn.limitInfo;

console.log(JSON.stringify(out));
