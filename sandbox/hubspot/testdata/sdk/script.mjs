// Drives the HubSpot sandbox with the unmodified @hubspot/api-client and prints one JSON object
// of observations for sdk_test.go to assert on. Usage: node script.mjs <sandbox base URL>
import hubspot from '@hubspot/api-client';

const basePath = process.argv[2];
if (!basePath) {
  console.error('usage: node script.mjs <base url>');
  process.exit(2);
}
const client = new hubspot.Client({ accessToken: 'sandbox-token', basePath });
const out = {};

const page = await client.crm.deals.basicApi.getPage(100, undefined, ['dealname', 'dealstage', 'map_status']);
out.pageSize = page.results.length;
out.pageNextAfter = page.paging?.next?.after ?? null;
out.pagePropertyKeys = Object.keys(page.results[0].properties).sort();

const all = await client.crm.deals.getAll(100, undefined, ['dealname']);
out.allCount = all.length;
out.allUniqueIds = new Set(all.map((d) => d.id)).size;
out.createdAtIsDate = all[0].createdAt instanceof Date && !Number.isNaN(all[0].createdAt.getTime());

const one = await client.crm.deals.basicApi.getById(all[0].id, ['dealname', 'hubspot_owner_id']);
out.getByIdOwner = one.properties.hubspot_owner_id;

const search = await client.crm.deals.searchApi.doSearch({
  filterGroups: [{ filters: [{ propertyName: 'dealstage', operator: 'IN', values: ['closedwon', 'closedlost'] }] }],
  sorts: [{ propertyName: 'hs_lastmodifieddate', direction: 'ASCENDING' }],
  properties: ['dealstage', 'hs_lastmodifieddate'],
  limit: 200,
  after: '0',
});
out.searchTotal = search.total;
out.searchStages = [...new Set(search.results.map((r) => r.properties.dealstage))].sort();
const stamps = search.results.map((r) => r.properties.hs_lastmodifieddate);
out.searchSorted = stamps.every((s, i) => i === 0 || stamps[i - 1] <= s);

const ids = all.slice(0, 3).map((d) => d.id);
const upd = await client.crm.deals.batchApi.update({
  inputs: ids.map((id) => ({ id, properties: { map_status: 'at_risk', map_progress: '55' } })),
});
out.updateStatus = upd.status;
out.updateCount = upd.results.length;
const read = await client.crm.deals.batchApi.read({
  inputs: ids.map((id) => ({ id })), properties: ['map_status', 'map_progress'], propertiesWithHistory: [],
});
out.readBack = read.results
  .map((r) => ({ id: r.id, map_status: r.properties.map_status, map_progress: r.properties.map_progress }))
  .sort((a, b) => a.id.localeCompare(b.id));
const partial = await client.crm.deals.batchApi.read({
  inputs: [{ id: ids[0] }, { id: '1' }], properties: ['dealname'], propertiesWithHistory: [],
});
out.partialNumErrors = partial.numErrors ?? 0;

try {
  await client.crm.deals.batchApi.update({ inputs: [{ id: ids[0], properties: { map_status: 'nonsense' } }] });
  out.invalidUpdate = 'accepted';
} catch (e) {
  out.invalidUpdate = e.code;
}

const props = await client.crm.properties.coreApi.getAll('deals');
const mapStatus = props.results.find((p) => p.name === 'map_status');
out.mapStatusOptions = mapStatus.options.map((o) => o.value);
out.mapStatusReadOnly = mapStatus.modificationMetadata.readOnlyValue;

const assoc = await client.crm.associations.v4.basicApi.getPage('deals', ids[0], 'contacts');
out.assocTypeIds = assoc.results[0].associationTypes.map((t) => t.typeId);
out.assocCategories = [...new Set(assoc.results[0].associationTypes.map((t) => t.category))].sort();
const batchAssoc = await client.crm.associations.v4.batchApi.getPage('deals', 'contacts', { inputs: [{ id: ids[0] }] });
out.batchAssocFrom = batchAssoc.results[0]._from?.id ?? batchAssoc.results[0].from?.id;
const labels = await client.crm.associations.v4.schema.definitionsApi.getAll('deals', 'contacts');
out.labels = labels.results.map((l) => l.label).filter(Boolean);

const owners = await client.crm.owners.ownersApi.getPage(undefined, undefined, 100);
out.ownerCount = owners.results.length;

const created = await client.crm.deals.basicApi.create({ properties: { dealname: 'SDK deal', dealstage: 'appointmentscheduled' }, associations: [] });
await client.crm.deals.basicApi.update(created.id, { properties: { amount: '1234' } });
await client.crm.deals.basicApi.archive(created.id);
out.createdArchived = true;

try {
  await client.crm.deals.basicApi.getById('1');
  out.notFound = 'found';
} catch (e) {
  out.notFound = e.code;
}

const tokens = await client.oauth.tokensApi.create('refresh_token', undefined, undefined,
  'sandbox-client-id', 'sandbox-client-secret', 'sandbox-refresh-token');
const oauthClient = new hubspot.Client({ accessToken: tokens.accessToken, basePath });
const viaOAuth = await oauthClient.crm.contacts.basicApi.getPage(5);
out.oauthExpiresIn = tokens.expiresIn;
out.oauthContacts = viaOAuth.results.length;

console.log(JSON.stringify(out));
