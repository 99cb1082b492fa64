#!/usr/bin/env node
// Allma Admin API reference harness.
//
// Runs the REAL Admin API Lambda handlers of @allma/core-cdk (dist-logic/allma-admin, unpacked by
// fetch-core-cdk.mjs) behind an emulation of Allma's API Gateway HTTP API (stage `v1`, the route
// table of the package's AllmaAdminApi construct, a Cognito-style JWT authorizer), with dynalite
// as in-memory DynamoDB and a tiny in-process fake for the other AWS services.
//
// Usage: node server.mjs [--port 0] [--ignore-stdin]
// First stdout line: {"port":N,"baseUrl":"http://127.0.0.1:N/v1","tokens":{...}}; nothing else is
// written to stdout (handler logs go to stderr). Exits when stdin reaches EOF (unless
// --ignore-stdin), on SIGTERM or SIGINT. See README.md.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CORE_CDK_DIR, CORE_CDK_INTEGRITY, CORE_CDK_SPEC } from './fetch-core-cdk.mjs';

// ---------------------------------------------------------------------------------------------
// stdout is reserved for the single ready line: route every console method to stderr.
for (const m of ['log', 'info', 'debug', 'warn', 'error', 'trace']) {
  console[m] = (...args) => {
    process.stderr.write(args.map((a) => (typeof a === 'string' ? a : safeInspect(a))).join(' ') + '\n');
  };
}
function safeInspect(v) {
  try { return JSON.stringify(v); } catch { return String(v); }
}
function die(msg) {
  process.stderr.write(`[allma-reference] FATAL: ${msg}\n`);
  process.exit(1);
}

const argv = process.argv.slice(2);
let requestedPort = 0;
let ignoreStdin = false;
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--port') requestedPort = Number(argv[++i]);
  else if (argv[i].startsWith('--port=')) requestedPort = Number(argv[i].slice(7));
  else if (argv[i] === '--ignore-stdin') ignoreStdin = true;
  else die(`unknown argument ${argv[i]} (usage: node server.mjs [--port N] [--ignore-stdin])`);
}
if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) die('invalid --port');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const markerPath = path.join(CORE_CDK_DIR, '.integrity');
if (!fs.existsSync(path.join(HERE, 'node_modules', 'dynalite'))) {
  die('node_modules missing: run `npm ci --prefix tests/allma-reference`');
}
if (!fs.existsSync(markerPath) || fs.readFileSync(markerPath, 'utf8').trim() !== CORE_CDK_INTEGRITY) {
  die(`${CORE_CDK_SPEC} is not unpacked in ${CORE_CDK_DIR} (its postinstall did not run or failed): ` +
    'run `npm ci --prefix tests/allma-reference` (with install scripts enabled)');
}

// ---------------------------------------------------------------------------------------------
// Deployment constants (defaults of the package's default-config.ts, stage "dev").
const STAGE = 'dev';
const API_STAGE = 'v1'; // stageConfig.adminApi.apiMappingKey default
const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const USER_POOL_ID = `${REGION}_AllmaRef`;
const ISSUER = `https://cognito-idp.${REGION}.amazonaws.com/${USER_POOL_ID}`;
const CLIENT_ID = 'allmareferenceadminuiclient';
const ALLOWED_ORIGINS = ['http://localhost:3001', 'http://localhost:5173'];
const LAMBDA_TIMEOUT_MS = 30_000; // HTTP API integration timeout (29-30 s)
const MAX_REQUEST_BYTES = 10 * 1024 * 1024; // HTTP API payload limit

const TABLES = {
  config: 'AllmaConfigTable',
  executionLog: 'AllmaFlowExecutionLogTable',
  continuation: `AllmaFlowContinuationState-${STAGE}`,
  emailMapping: `AllmaEmailToFlowMapping-${STAGE}`,
};

// Table definitions mirror lib/constructs/data-stores.ts of @allma/core-cdk 1.5.4.
const S = (n) => ({ AttributeName: n, AttributeType: 'S' });
const keys = (h, r) => (r ? [{ AttributeName: h, KeyType: 'HASH' }, { AttributeName: r, KeyType: 'RANGE' }] : [{ AttributeName: h, KeyType: 'HASH' }]);
const include = (attrs) => ({ ProjectionType: 'INCLUDE', NonKeyAttributes: attrs });
const TABLE_DEFS = [
  {
    TableName: TABLES.config,
    AttributeDefinitions: [S('PK'), S('SK'), S('itemType'), S('id'), S('name'), S('itemType_isPublished')],
    KeySchema: keys('PK', 'SK'),
    GlobalSecondaryIndexes: [
      { IndexName: 'GSI_ItemType_Id', KeySchema: keys('itemType', 'id'), Projection: { ProjectionType: 'ALL' } },
      { IndexName: 'GSI_ListItems', KeySchema: keys('itemType', 'name'), Projection: include(['id', 'description', 'latestVersion', 'publishedVersion', 'tags', 'updatedAt', 'stepType']) },
      { IndexName: 'GSI_ListItems_v2', KeySchema: keys('itemType', 'name'), Projection: include(['id', 'description', 'latestVersion', 'publishedVersion', 'tags', 'updatedAt', 'stepType', 'emailTriggerAddress']) },
      { IndexName: 'GSI_PublishedFlows', KeySchema: keys('itemType_isPublished', 'name'), Projection: include(['id', 'description', 'version', 'updatedAt']) },
    ],
  },
  {
    TableName: TABLES.executionLog,
    AttributeDefinitions: [S('flowExecutionId'), S('eventTimestamp_stepInstanceId_attempt'), S('flowDefinitionId'), S('flow_sort_key'), S('startTime'), S('itemType'), S('rootFlowExecutionId'), S('tree_sort_key')],
    KeySchema: keys('flowExecutionId', 'eventTimestamp_stepInstanceId_attempt'),
    GlobalSecondaryIndexes: [
      { IndexName: 'GSI_ByFlow', KeySchema: keys('flowDefinitionId', 'flow_sort_key'), Projection: include(['flowExecutionId', 'status', 'startTime', 'endTime', 'overallDurationMs', 'triggerSource', 'flowDefinitionVersion']) },
      { IndexName: 'GSI_ByFlow_StartTime', KeySchema: keys('flowDefinitionId', 'startTime'), Projection: include(['flowExecutionId', 'status', 'endTime', 'triggerSource', 'flowDefinitionVersion', 'itemType']) },
      { IndexName: 'GSI_ByItemType_StartTime', KeySchema: keys('itemType', 'startTime'), Projection: include(['flowExecutionId', 'status', 'endTime', 'flowDefinitionId', 'flowDefinitionVersion', 'errorInfo']) },
      { IndexName: 'GSI_ByRoot', KeySchema: keys('rootFlowExecutionId', 'tree_sort_key'), Projection: include(['flowDefinitionId', 'flowDefinitionVersion', 'status', 'startTime', 'endTime', 'executionKind', 'parentFlowExecutionId', 'parentStepInstanceId', 'depth', 'currentStepInstanceId', 'currentStepDisplayName', 'currentStepType', 'completedStepCount', 'totalStepCount', 'currentCheckpoint', 'totalCheckpoints', 'progressPercent', 'progressUpdatedAt', 'liveStatus']) },
      { IndexName: 'GSI_StepStats_ByTime', KeySchema: keys('itemType', 'startTime'), Projection: include(['stepType', 'status', 'flowDefinitionId', 'flowDefinitionVersion', 'durationMs', 'endTime', 'inputTokens', 'outputTokens']) },
    ],
  },
  { TableName: TABLES.continuation, AttributeDefinitions: [S('correlationKey')], KeySchema: keys('correlationKey') },
  {
    TableName: TABLES.emailMapping,
    AttributeDefinitions: [S('emailAddress'), S('keyword'), S('flowDefinitionId')],
    KeySchema: keys('emailAddress', 'keyword'),
    GlobalSecondaryIndexes: [{ IndexName: 'GSI_ByFlow', KeySchema: keys('flowDefinitionId'), Projection: { ProjectionType: 'ALL' } }],
  },
].map((d) => ({ BillingMode: 'PAY_PER_REQUEST', ...d }));

// ---------------------------------------------------------------------------------------------
// Small helpers.
const listen = (server, port) => new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', () => resolve(server.address().port));
});
const readBody = (req, limit = Infinity) => new Promise((resolve, reject) => {
  const chunks = [];
  let size = 0;
  let tooBig = false;
  req.on('data', (c) => { size += c.length; if (size > limit) tooBig = true; else chunks.push(c); });
  req.on('end', () => resolve(tooBig ? null : Buffer.concat(chunks)));
  req.on('error', reject);
});
const randomId = (n = 16) => crypto.randomBytes(n).toString('hex');
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 16 });

function send(res, status, headers, body) {
  const buf = body === undefined || body === null ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(String(body));
  res.writeHead(status, { ...headers, 'content-length': buf.length });
  res.end(buf);
}
function sendJson(res, status, obj, extra = {}) {
  send(res, status, { 'content-type': 'application/json', ...extra }, JSON.stringify(obj));
}

// Serializes all DynamoDB traffic so that emulated transactions are atomic.
let ddbChain = Promise.resolve();
function ddbExclusive(fn) {
  const run = ddbChain.then(fn, fn);
  ddbChain = run.catch(() => {});
  return run;
}

// ---------------------------------------------------------------------------------------------
// dynalite (in-memory DynamoDB).
const { default: dynalite } = await import('dynalite');
const dynaliteServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
const dynalitePort = await listen(dynaliteServer, 0);

function dynaliteRaw(target, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: dynalitePort, method: 'POST', path: '/', headers: { ...headers, 'x-amz-target': target, 'content-length': body.length }, agent: keepAlive }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
const FAKE_AUTH_HEADERS = () => {
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return {
    'content-type': 'application/x-amz-json-1.0',
    'x-amz-date': amzDate,
    authorization: `AWS4-HMAC-SHA256 Credential=AKIDALLMAREF/${amzDate.slice(0, 8)}/${REGION}/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
  };
};
class DdbError extends Error {
  constructor(status, data) {
    super(data?.message || data?.Message || 'DynamoDB error');
    this.status = status;
    this.data = data;
  }
}
/** Direct call to dynalite (caller must hold the DDB lock if atomicity matters). */
async function ddb(op, payload) {
  const r = await dynaliteRaw(`DynamoDB_20120810.${op}`, FAKE_AUTH_HEADERS(), Buffer.from(JSON.stringify(payload)));
  const data = r.body.length ? JSON.parse(r.body.toString('utf8')) : {};
  if (r.status !== 200) throw new DdbError(r.status, data);
  return data;
}

const keySchemaCache = new Map();
async function keyOf(tableName, item) {
  let ks = keySchemaCache.get(tableName);
  if (!ks) {
    ks = (await ddb('DescribeTable', { TableName: tableName })).Table.KeySchema.map((k) => k.AttributeName);
    keySchemaCache.set(tableName, ks);
  }
  const key = {};
  for (const k of ks) {
    if (!item || item[k] === undefined) throw new DdbError(400, { __type: 'com.amazon.coral.validate#ValidationException', message: 'One of the required keys was not given a value' });
    key[k] = item[k];
  }
  return key;
}

/** The subset of names/values an expression string references. */
function usedBy(expr, names, values) {
  const out = {};
  if (!expr) return out;
  const n = {};
  const v = {};
  for (const m of expr.matchAll(/#[A-Za-z0-9_]+/g)) if (names?.[m[0]] !== undefined) n[m[0]] = names[m[0]];
  for (const m of expr.matchAll(/:[A-Za-z0-9_]+/g)) if (values?.[m[0]] !== undefined) v[m[0]] = values[m[0]];
  if (Object.keys(n).length) out.ExpressionAttributeNames = n;
  if (Object.keys(v).length) out.ExpressionAttributeValues = v;
  return out;
}

/**
 * TransactWriteItems emulation (dynalite has no transactions). Runs under the DDB lock:
 * 1. validate (1..100 items, no two operations on one item), snapshot every target item;
 * 2. evaluate every ConditionExpression against the snapshot (no state change) and, if any
 *    fails, answer TransactionCanceledException with one CancellationReason per item, exactly
 *    like DynamoDB ("Transaction cancelled, please refer cancellation reasons for specific
 *    reasons [None, ConditionalCheckFailed]");
 * 3. apply the operations in order; if one fails unexpectedly, restore the snapshots.
 */
async function transactWriteItems(input) {
  const items = input.TransactItems || [];
  if (items.length < 1 || items.length > 100) {
    throw new DdbError(400, { __type: 'com.amazon.coral.validate#ValidationException', message: `1 validation error detected: Value '${JSON.stringify(items)}' at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100, Member must have length greater than or equal to 1` });
  }
  const ops = [];
  const seen = new Set();
  for (const entry of items) {
    const kind = Object.keys(entry).find((k) => ['Put', 'Update', 'Delete', 'ConditionCheck'].includes(k));
    if (!kind) throw new DdbError(400, { __type: 'com.amazon.coral.validate#ValidationException', message: 'TransactItems can only contain one of Check, Put, Update or Delete' });
    const spec = entry[kind];
    const key = kind === 'Put' ? await keyOf(spec.TableName, spec.Item) : spec.Key;
    const id = `${spec.TableName}|${JSON.stringify(await keyOf(spec.TableName, key))}`;
    if (seen.has(id)) throw new DdbError(400, { __type: 'com.amazon.coral.validate#ValidationException', message: 'Transaction request cannot include multiple operations on one item' });
    seen.add(id);
    const before = (await ddb('GetItem', { TableName: spec.TableName, Key: key, ConsistentRead: true })).Item;
    ops.push({ kind, spec, key, before });
  }
  // Phase 1: conditions.
  const reasons = [];
  let failed = false;
  for (const op of ops) {
    const cond = op.spec.ConditionExpression;
    if (!cond) { reasons.push({ Code: 'None' }); continue; }
    const refs = usedBy(cond, op.spec.ExpressionAttributeNames, op.spec.ExpressionAttributeValues);
    try {
      if (op.before) await ddb('PutItem', { TableName: op.spec.TableName, Item: op.before, ConditionExpression: cond, ...refs });
      else await ddb('DeleteItem', { TableName: op.spec.TableName, Key: op.key, ConditionExpression: cond, ...refs });
      reasons.push({ Code: 'None' });
    } catch (e) {
      if (e instanceof DdbError && /ConditionalCheckFailed/.test(e.data?.__type || '')) {
        failed = true;
        const r = { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' };
        if (op.spec.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && op.before) r.Item = op.before;
        reasons.push(r);
      } else {
        throw e;
      }
    }
  }
  if (failed) {
    throw new DdbError(400, {
      __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
      CancellationReasons: reasons,
      Message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
    });
  }
  // Phase 2: apply.
  const applied = [];
  try {
    for (const op of ops) {
      const { ReturnValuesOnConditionCheckFailure, ...spec } = op.spec;
      if (op.kind === 'Put') await ddb('PutItem', spec);
      else if (op.kind === 'Update') await ddb('UpdateItem', spec);
      else if (op.kind === 'Delete') await ddb('DeleteItem', spec);
      applied.push(op);
    }
  } catch (e) {
    for (const op of applied.reverse()) {
      if (op.before) await ddb('PutItem', { TableName: op.spec.TableName, Item: op.before });
      else await ddb('DeleteItem', { TableName: op.spec.TableName, Key: op.key });
    }
    throw e;
  }
  return {};
}

async function transactGetItems(input) {
  const responses = [];
  for (const entry of input.TransactItems || []) {
    const g = entry.Get;
    const r = await ddb('GetItem', { TableName: g.TableName, Key: g.Key, ConsistentRead: true, ...(g.ProjectionExpression ? { ProjectionExpression: g.ProjectionExpression } : {}), ...(g.ExpressionAttributeNames ? { ExpressionAttributeNames: g.ExpressionAttributeNames } : {}) });
    responses.push(r.Item ? { Item: r.Item } : {});
  }
  return { Responses: responses };
}

async function createTables() {
  for (const def of TABLE_DEFS) await ddb('CreateTable', def);
  // createTableMs: 0 still flips to ACTIVE on a timer; wait for it.
  for (const def of TABLE_DEFS) {
    for (let i = 0; i < 200; i++) {
      const t = await ddb('DescribeTable', { TableName: def.TableName });
      if (t.Table.TableStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}
async function resetData() {
  await ddbExclusive(async () => {
    for (const def of TABLE_DEFS) {
      try { await ddb('DeleteTable', { TableName: def.TableName }); } catch { /* absent */ }
    }
    for (const def of TABLE_DEFS) {
      for (let i = 0; i < 200; i++) {
        const names = (await ddb('ListTables', {})).TableNames;
        if (!names.includes(def.TableName)) break;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    keySchemaCache.clear();
    await createTables();
  });
  schedules.clear();
}

// ---------------------------------------------------------------------------------------------
// Fake AWS endpoint: every AWS SDK client of the handlers points here (AWS_ENDPOINT_URL).
//  - DynamoDB: forwarded to dynalite, plus TransactWriteItems/TransactGetItems emulation.
//  - EventBridge Scheduler: in-memory Get/Create/Update/DeleteSchedule.
//  - anything else (SFN, Lambda, SQS, S3, Secrets Manager, ...): 400 error "not available".
const schedules = new Map();
const awsRequests = { byService: {} };

function serviceOf(req) {
  const m = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(req.headers.authorization || '');
  return m ? m[1] : 'unknown';
}
function awsJsonError(res, status, type, message) {
  send(res, status, { 'content-type': 'application/json', 'x-amzn-requestid': randomId(), 'x-amzn-errortype': type }, JSON.stringify({ __type: type, message, Message: message }));
}

async function handleDynamo(req, res, body) {
  const target = String(req.headers['x-amz-target'] || '');
  const op = target.split('.')[1] || '';
  await ddbExclusive(async () => {
    if (op === 'TransactWriteItems' || op === 'TransactGetItems') {
      try {
        const input = JSON.parse(body.toString('utf8') || '{}');
        const out = op === 'TransactWriteItems' ? await transactWriteItems(input) : await transactGetItems(input);
        send(res, 200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomId() }, JSON.stringify(out));
      } catch (e) {
        if (e instanceof DdbError) send(res, e.status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomId() }, JSON.stringify(e.data));
        else send(res, 500, { 'content-type': 'application/x-amz-json-1.0' }, JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: String(e?.message || e) }));
      }
      return;
    }
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (!['host', 'connection', 'content-length', 'transfer-encoding'].includes(k)) headers[k] = v;
    const r = await dynaliteRaw(target, headers, body);
    const out = {};
    for (const [k, v] of Object.entries(r.headers)) if (!['connection', 'content-length', 'transfer-encoding', 'date', 'keep-alive'].includes(k)) out[k] = v;
    send(res, r.status, out, r.body);
  });
}

function handleScheduler(req, res, body) {
  const url = new URL(req.url, 'http://x');
  const m = /^\/schedules\/([^/]+)$/.exec(url.pathname);
  const restErr = (status, type, message) => send(res, status, { 'content-type': 'application/json', 'x-amzn-errortype': type, 'x-amzn-requestid': randomId() }, JSON.stringify({ Message: message }));
  if (!m) return restErr(400, 'ValidationException', `The fake scheduler supports only /schedules/{Name} (got ${req.method} ${url.pathname})`);
  const name = decodeURIComponent(m[1]);
  const group = url.searchParams.get('groupName') || 'default';
  const key = `${group}/${name}`;
  const arn = `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/${group}/${name}`;
  let input = {};
  try { input = body.length ? JSON.parse(body.toString('utf8')) : {}; } catch { return restErr(400, 'ValidationException', 'Invalid JSON'); }
  const validate = () => {
    if (!/^(rate|cron|at)\(.+\)$/.test(String(input.ScheduleExpression || ''))) return `Invalid Schedule Expression ${input.ScheduleExpression}.`;
    if (!input.Target?.Arn || !input.Target?.RoleArn) return 'Target Arn and RoleArn are required.';
    if (!input.FlexibleTimeWindow?.Mode) return 'FlexibleTimeWindow is required.';
    return null;
  };
  const now = Math.floor(Date.now() / 1000); // restJson1 timestamps: epoch seconds
  switch (req.method) {
    case 'GET': {
      const s = schedules.get(key);
      if (!s) return restErr(404, 'ResourceNotFoundException', `Schedule ${name} does not exist.`);
      return sendJson(res, 200, s);
    }
    case 'POST': {
      if (schedules.has(key)) return restErr(409, 'ConflictException', `Schedule ${name} already exists.`);
      const v = validate();
      if (v) return restErr(400, 'ValidationException', v);
      const { ClientToken, ...rest } = input;
      schedules.set(key, { ...rest, Name: name, GroupName: group, Arn: arn, State: input.State || 'ENABLED', CreationDate: now, LastModificationDate: now });
      return sendJson(res, 200, { ScheduleArn: arn });
    }
    case 'PUT': {
      const old = schedules.get(key);
      if (!old) return restErr(404, 'ResourceNotFoundException', `Schedule ${name} does not exist.`);
      const v = validate();
      if (v) return restErr(400, 'ValidationException', v);
      const { ClientToken, ...rest } = input;
      schedules.set(key, { ...rest, Name: name, GroupName: group, Arn: arn, State: input.State || 'ENABLED', CreationDate: old.CreationDate, LastModificationDate: now });
      return sendJson(res, 200, { ScheduleArn: arn });
    }
    case 'DELETE': {
      if (!schedules.delete(key)) return restErr(404, 'ResourceNotFoundException', `Schedule ${name} does not exist.`);
      return sendJson(res, 200, {});
    }
    default:
      return restErr(400, 'ValidationException', `Unsupported method ${req.method}`);
  }
}

const awsServer = http.createServer(async (req, res) => {
  try {
    const body = await readBody(req);
    const service = serviceOf(req);
    awsRequests.byService[service] = (awsRequests.byService[service] || 0) + 1;
    if (String(req.headers['x-amz-target'] || '').startsWith('DynamoDB_20120810.')) return await handleDynamo(req, res, body);
    if (service === 'scheduler') return handleScheduler(req, res, body);
    const msg = `AWS service '${service}' is not available in the allma-reference harness (${req.method} ${req.url} ${req.headers['x-amz-target'] || ''})`;
    console.error(`[allma-reference] ${msg}`);
    // 400 so that the SDK does not retry.
    awsJsonError(res, 400, 'UnsupportedOperation', msg);
  } catch (e) {
    console.error('[allma-reference] fake AWS endpoint error', e?.stack || e);
    if (!res.headersSent) awsJsonError(res, 500, 'InternalFailure', String(e?.message || e));
  }
});
const awsPort = await listen(awsServer, 0);

// ---------------------------------------------------------------------------------------------
// Environment of the Lambdas (union of ApiConstruct/AllmaCompute env vars) + fake AWS config.
for (const k of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN']) delete process.env[k];
for (const k of Object.keys(process.env)) if (k.startsWith('AWS_ENDPOINT_URL_')) delete process.env[k];
Object.assign(process.env, {
  AWS_REGION: REGION,
  AWS_DEFAULT_REGION: REGION,
  AWS_ACCESS_KEY_ID: 'AKIDALLMAREFERENCE',
  AWS_SECRET_ACCESS_KEY: 'allma-reference-fake-secret',
  AWS_ENDPOINT_URL: `http://127.0.0.1:${awsPort}`,
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  AWS_CONFIG_FILE: path.join(HERE, '.no-aws-config'),
  AWS_SHARED_CREDENTIALS_FILE: path.join(HERE, '.no-aws-credentials'),
  AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1',
  AWS_LAMBDA_LOG_STREAM_NAME: 'allma-reference',
  STAGE_NAME: STAGE,
  LOG_LEVEL: process.env.ALLMA_REFERENCE_LOG_LEVEL || 'WARN',
  ALLMA_CONFIG_TABLE_NAME: TABLES.config,
  ALLMA_FLOW_EXECUTION_LOG_TABLE_NAME: TABLES.executionLog,
  ALLMA_CONTINUATION_TABLE_NAME: TABLES.continuation,
  EMAIL_TO_FLOW_MAPPING_TABLE_NAME: TABLES.emailMapping,
  ALLMA_EXECUTION_TRACES_BUCKET_NAME: `allma-execution-traces-${ACCOUNT}-${REGION}`,
  EVENTBRIDGE_SCHEDULER_ROLE_ARN: `arn:aws:iam::${ACCOUNT}:role/AllmaEventBridgeSchedulerRole-${STAGE}`,
  ALLMA_FLOW_START_REQUEST_QUEUE_ARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:AllmaFlowStartRequestQueue-${STAGE}`,
  // The SQS client sends to the queue URL's host: keep it on the fake endpoint.
  ALLMA_FLOW_START_REQUEST_QUEUE_URL: `http://127.0.0.1:${awsPort}/${ACCOUNT}/AllmaFlowStartRequestQueue-${STAGE}`,
  ALLMA_STATE_MACHINE_ARN: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:AllmaFlowOrchestrator-${STAGE}`,
  ALLMA_FLOW_OUTPUT_TOPIC_ARN: `arn:aws:sns:${REGION}:${ACCOUNT}:AllmaFlowOutputTopic-${STAGE}`,
  ITERATIVE_STEP_PROCESSOR_LAMBDA_ARN: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:AllmaIterativeStepProcessor-${STAGE}`,
  MAX_CONTEXT_DATA_SIZE_BYTES: String(10 * 1024),
});

await ddbExclusive(createTables);

// ---------------------------------------------------------------------------------------------
// The real handlers (dist-logic of @allma/core-cdk), as wired by lib/constructs/admin-api.ts.
const LAMBDA_FILES = {
  flowManagement: 'allma-admin/flow-management.js',
  promptTemplates: 'allma-admin/prompt-template-management.js',
  importExport: 'allma-admin/import-export.js',
  stepManagement: 'allma-admin/step-management.js',
  executionMonitoring: 'allma-admin/execution-monitoring.js',
  flowControl: 'allma-admin/flow-control.js',
  dashboardStats: 'allma-admin/dashboard-stats.js',
  stepStats: 'allma-admin/step-stats.js',
  mcpConnections: 'allma-admin/mcp-connection-management.js',
  agents: 'allma-admin/agent-management.js',
  flowTrigger: 'allma-admin/flow-trigger.js',
  resumeFlow: 'allma-flows/resume-flow.js',
};
const lambdas = {};
await Promise.all(Object.entries(LAMBDA_FILES).map(async ([name, file]) => {
  const mod = await import(pathToFileURL(path.join(CORE_CDK_DIR, 'dist-logic', file)).href);
  if (typeof mod.handler !== 'function') die(`${file} exports no handler`);
  lambdas[name] = mod.handler;
}));

// Route table of AllmaAdminApi (lib/constructs/admin-api.ts). auth=false: HttpNoneAuthorizer.
const ROUTES = [];
const route = (methods, p, lambda, auth = true) => { for (const m of methods) ROUTES.push({ method: m, path: p, lambda, auth }); };
route(['POST'], '/allma/resume', 'resumeFlow', false);
route(['POST'], '/allma/flows/{flowId}/trigger', 'flowTrigger', false);
route(['GET', 'POST'], '/allma/prompt-templates', 'promptTemplates');
route(['POST'], '/allma/prompt-templates/{promptId}/clone', 'promptTemplates');
route(['GET'], '/allma/prompt-templates/{promptId}/versions', 'promptTemplates');
route(['POST'], '/allma/prompt-templates/{promptId}/versions', 'promptTemplates');
route(['GET', 'PUT', 'DELETE'], '/allma/prompt-templates/{promptId}/versions/{versionNumber}', 'promptTemplates');
route(['POST'], '/allma/prompt-templates/{promptId}/versions/{versionNumber}/publish', 'promptTemplates');
route(['POST'], '/allma/prompt-templates/{promptId}/versions/{versionNumber}/unpublish', 'promptTemplates');
route(['POST', 'GET'], '/allma/flows', 'flowManagement');
route(['GET'], '/allma/flows/tags', 'flowManagement');
route(['GET', 'PUT', 'DELETE'], '/allma/flows/{flowId}', 'flowManagement');
route(['POST'], '/allma/flows/{flowId}/clone', 'flowManagement');
route(['GET'], '/allma/flows/{flowId}/versions', 'flowManagement');
route(['POST'], '/allma/flows/{flowId}/versions', 'flowManagement');
route(['GET', 'PUT', 'DELETE'], '/allma/flows/{flowId}/versions/{versionNumber}', 'flowManagement');
route(['POST'], '/allma/flows/{flowId}/versions/{versionNumber}/publish', 'flowManagement');
route(['POST'], '/allma/flows/{flowId}/versions/{versionNumber}/unpublish', 'flowManagement');
route(['POST'], '/allma/flows/sandbox/step', 'flowControl');
route(['POST'], '/allma/flows/{flowId}/versions/{versionNumber}/execute', 'flowControl');
route(['GET'], '/allma/flow-executions', 'executionMonitoring');
route(['GET'], '/allma/flow-executions/{flowExecutionId}', 'executionMonitoring');
route(['GET'], '/allma/flow-executions/{flowExecutionId}/progress', 'executionMonitoring');
route(['GET'], '/allma/flow-executions/{flowExecutionId}/branch-steps', 'executionMonitoring');
route(['GET'], '/allma/flow-executions/{flowExecutionId}/step-record', 'executionMonitoring');
route(['POST'], '/allma/tools/resolve-s3', 'executionMonitoring');
route(['POST', 'GET'], '/allma/step-definitions', 'stepManagement');
route(['GET', 'PUT', 'DELETE'], '/allma/step-definitions/{stepDefinitionId}', 'stepManagement');
route(['POST'], '/allma/flow-executions/{flowExecutionId}/redrive', 'flowControl');
route(['POST'], '/allma/flow-executions/{flowExecutionId}/stateful-redrive', 'flowControl');
route(['GET'], '/allma/dashboard/stats', 'dashboardStats');
route(['GET'], '/allma/dashboard/step-stats', 'stepStats');
route(['POST'], '/allma/import', 'importExport');
route(['POST'], '/allma/export', 'importExport');
route(['GET', 'POST'], '/allma/mcp-connections', 'mcpConnections');
route(['GET', 'PUT', 'DELETE'], '/allma/mcp-connections/{connectionId}', 'mcpConnections');
route(['POST'], '/allma/mcp-connections/{connectionId}/discover', 'mcpConnections');
route(['GET', 'POST'], '/allma/agents', 'agents');
route(['GET', 'PUT', 'DELETE'], '/allma/agents/{agentId}', 'agents');
for (const r of ROUTES) {
  r.segments = r.path.split('/').slice(1);
  r.routeKey = `${r.method} ${r.path}`;
  r.literalCount = r.segments.filter((s) => !s.startsWith('{')).length;
}

/** HTTP API matching: same segment count, literal segments win over {param} segments. */
function matchRoute(method, apiPath) {
  const segs = apiPath.split('/').slice(1);
  let best = null;
  for (const r of ROUTES) {
    if (r.method !== method || r.segments.length !== segs.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < segs.length; i++) {
      const rs = r.segments[i];
      if (rs.startsWith('{')) {
        if (!segs[i]) { ok = false; break; }
        params[rs.slice(1, -1)] = segs[i];
      } else if (rs !== segs[i]) { ok = false; break; }
    }
    if (!ok) continue;
    // Prefer the route whose earliest differing segment is literal (API Gateway's "most specific").
    if (!best || moreSpecific(r, best.route)) best = { route: r, params };
  }
  return best;
}
function moreSpecific(a, b) {
  for (let i = 0; i < a.segments.length; i++) {
    const la = !a.segments[i].startsWith('{');
    const lb = !b.segments[i].startsWith('{');
    if (la !== lb) return la;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// JWT authorizer emulation (HS256 with a key generated at startup).
const jwtKey = crypto.randomBytes(32);
const b64url = (buf) => Buffer.from(buf).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
function signJwt(payload) {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'allma-reference' }));
  const body = b64url(JSON.stringify(payload));
  const sig = b64url(crypto.createHmac('sha256', jwtKey).update(`${header}.${body}`).digest());
  return `${header}.${body}.${sig}`;
}
function verifyJwt(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) return { error: 'invalid_token' };
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    if (header.alg !== 'HS256') return { error: 'invalid_token' };
    const expected = crypto.createHmac('sha256', jwtKey).update(`${parts[0]}.${parts[1]}`).digest();
    const given = Buffer.from(parts[2], 'base64url');
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return { error: 'invalid_token' };
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp <= now) return { error: 'expired' };
    if (typeof claims.nbf === 'number' && claims.nbf > now) return { error: 'invalid_token' };
    if (claims.iss !== ISSUER) return { error: 'invalid_token' };
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.includes(CLIENT_ID) && claims.client_id !== CLIENT_ID) return { error: 'invalid_token' };
    return { claims };
  } catch {
    return { error: 'invalid_token' };
  }
}
/** How API Gateway hands JWT claims to a Lambda (payload 2.0): every value a string, arrays as "[a b]". */
function claimsForLambda(claims) {
  const out = {};
  for (const [k, v] of Object.entries(claims)) {
    if (v === null || v === undefined) continue;
    if (Array.isArray(v)) out[k] = `[${v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ')}]`;
    else if (typeof v === 'object') out[k] = JSON.stringify(v);
    else out[k] = String(v);
  }
  return out;
}
function mintToken(overrides = {}, ttlSeconds = 12 * 3600) {
  const now = Math.floor(Date.now() / 1000);
  const base = {
    sub: crypto.randomUUID(),
    email_verified: true,
    iss: ISSUER,
    'cognito:username': undefined,
    origin_jti: crypto.randomUUID(),
    aud: CLIENT_ID,
    event_id: crypto.randomUUID(),
    token_use: 'id',
    auth_time: now,
    iat: now,
    exp: now + ttlSeconds,
    jti: crypto.randomUUID(),
  };
  const claims = { ...base, ...overrides };
  if (claims['cognito:username'] === undefined) claims['cognito:username'] = claims.sub;
  for (const [k, v] of Object.entries(claims)) if (v === null || v === undefined) delete claims[k];
  return signJwt(claims);
}
const roles = (r) => JSON.stringify({ roles: r, permissions: [] });
const TOKENS = {
  admin: mintToken({ email: 'admin@allma-reference.test', 'cognito:groups': ['Admins'], 'custom:admin_roles': roles(['FLOW_MANAGER']) }),
  reader: mintToken({ email: 'reader@allma-reference.test', 'cognito:groups': ['Admins'], 'custom:admin_roles': roles(['DEBUG_VIEWER']) }),
  nogroup: mintToken({ email: 'nogroup@allma-reference.test', 'custom:admin_roles': roles(['FLOW_MANAGER']) }),
  noperm: mintToken({ email: 'noperm@allma-reference.test', 'cognito:groups': ['Admins'], 'custom:admin_roles': roles([]) }),
};

// ---------------------------------------------------------------------------------------------
// Stats.
let stats;
function resetStats() { stats = { requests: 0, writes: 0, byRoute: {}, byPath: {}, byStatus: {} }; }
resetStats();
function count(method, routeKey, apiPath, status) {
  stats.requests++;
  if (method !== 'GET') stats.writes++;
  stats.byRoute[routeKey] = (stats.byRoute[routeKey] || 0) + 1;
  const pk = `${method} ${apiPath}`;
  stats.byPath[pk] = (stats.byPath[pk] || 0) + 1;
  stats.byStatus[status] = (stats.byStatus[status] || 0) + 1;
}

// ---------------------------------------------------------------------------------------------
// The API Gateway emulation.
function apigwTime(d) {
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${mon}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function buildEvent(req, url, rawPath, match, body, claims, requestId) {
  const headers = {};
  const cookies = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const k = req.rawHeaders[i].toLowerCase();
    const v = req.rawHeaders[i + 1];
    if (k === 'cookie') { cookies.push(...v.split(';').map((c) => c.trim()).filter(Boolean)); continue; }
    headers[k] = headers[k] === undefined ? v : `${headers[k]},${v}`;
  }
  headers['x-forwarded-for'] = headers['x-forwarded-for'] || '127.0.0.1';
  headers['x-forwarded-port'] = String(req.socket.localPort);
  headers['x-forwarded-proto'] = 'http';
  headers['x-amzn-trace-id'] = `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomId(12)}`;
  const rawQueryString = url.search ? url.search.slice(1) : '';
  let queryStringParameters;
  for (const [k, v] of url.searchParams) {
    queryStringParameters = queryStringParameters || {};
    queryStringParameters[k] = queryStringParameters[k] === undefined ? v : `${queryStringParameters[k]},${v}`;
  }
  const now = new Date();
  const event = {
    version: '2.0',
    routeKey: match.route.routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: {
      accountId: ACCOUNT,
      apiId: 'allmaref',
      ...(claims ? { authorizer: { jwt: { claims: claimsForLambda(claims), scopes: null } } } : {}),
      domainName: headers.host || `127.0.0.1:${req.socket.localPort}`,
      domainPrefix: (headers.host || '127').split('.')[0],
      http: { method: req.method, path: rawPath, protocol: `HTTP/${req.httpVersion}`, sourceIp: '127.0.0.1', userAgent: headers['user-agent'] || '' },
      requestId,
      routeKey: match.route.routeKey,
      stage: API_STAGE,
      time: apigwTime(now),
      timeEpoch: now.getTime(),
    },
    ...(Object.keys(match.params).length ? { pathParameters: match.params } : {}),
    ...(body.length ? { body: body.toString('utf8') } : {}),
    isBase64Encoded: false,
  };
  return event;
}

function lambdaContext(name, requestId) {
  const deadline = Date.now() + LAMBDA_TIMEOUT_MS;
  return {
    functionName: `AllmaRef-${name}-${STAGE}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:AllmaRef-${name}-${STAGE}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/AllmaRef-${name}-${STAGE}`,
    logStreamName: 'allma-reference',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {}, fail() {}, succeed() {},
  };
}

async function handleApi(req, res) {
  const requestId = `${randomId(4)}=`.slice(0, 8) + randomId(4);
  const gw = (status, message, extra = {}) => {
    sendJson(res, status, { message }, { 'apigw-requestid': requestId, ...extra });
    return status;
  };
  const url = new URL(req.url, 'http://127.0.0.1');
  const rawPath = url.pathname;
  const stagePrefix = `/${API_STAGE}`;
  const apiPath = rawPath.startsWith(`${stagePrefix}/`) ? rawPath.slice(stagePrefix.length) : null;
  const body = await readBody(req, MAX_REQUEST_BYTES);
  let routeKey = 'NO_ROUTE';
  let status;
  try {
    if (body === null) { status = gw(413, 'Request Entity Too Large'); return; }
    // CORS preflight (corsPreflight is configured on the HttpApi): answered by API Gateway itself.
    if (req.method === 'OPTIONS' && req.headers.origin && req.headers['access-control-request-method']) {
      routeKey = 'OPTIONS (CORS preflight)';
      const origin = req.headers.origin;
      const h = { 'apigw-requestid': requestId };
      if (ALLOWED_ORIGINS.includes(origin)) {
        h['access-control-allow-origin'] = origin;
        h['access-control-allow-methods'] = 'DELETE,GET,OPTIONS,POST,PUT';
        h['access-control-allow-headers'] = 'authorization,content-type,x-amz-date,x-amz-security-token,x-amz-user-agent,x-api-key';
        h['access-control-max-age'] = '86400';
      }
      send(res, 204, h);
      status = 204;
      return;
    }
    const match = apiPath === null ? null : matchRoute(req.method, apiPath);
    if (!match) { status = gw(404, 'Not Found'); return; }
    routeKey = match.route.routeKey;
    let claims;
    if (match.route.auth) {
      const authz = req.headers.authorization;
      if (!authz) { status = gw(401, 'Unauthorized'); return; }
      const token = authz.replace(/^Bearer\s+/i, '').trim();
      const v = verifyJwt(token);
      if (v.error) {
        const desc = v.error === 'expired' ? 'the token has expired' : 'the token is invalid';
        status = gw(401, 'Unauthorized', { 'www-authenticate': `Bearer scope="" error="invalid_token" error_description="${desc}"` });
        return;
      }
      claims = v.claims;
    }
    const event = buildEvent(req, url, rawPath, match, body, claims, requestId);
    const handler = lambdas[match.route.lambda];
    let timer;
    let result;
    try {
      result = await Promise.race([
        Promise.resolve().then(() => handler(event, lambdaContext(match.route.lambda, requestId))),
        new Promise((resolve) => { timer = setTimeout(() => resolve(TIMEOUT), LAMBDA_TIMEOUT_MS); }),
      ]);
    } catch (e) {
      console.error(`[allma-reference] Lambda ${match.route.lambda} threw`, e?.stack || e);
      status = gw(500, 'Internal Server Error');
      return;
    } finally {
      clearTimeout(timer);
    }
    if (result === TIMEOUT) { status = gw(503, 'Service Unavailable'); return; }
    status = sendLambdaResult(res, result, requestId);
  } finally {
    count(req.method, routeKey, apiPath ?? `${rawPath} (outside stage /${API_STAGE})`, status ?? 500);
  }
}
const TIMEOUT = Symbol('timeout');

/** Payload format 2.0 response mapping. */
function sendLambdaResult(res, result, requestId) {
  const base = { 'apigw-requestid': requestId };
  if (result && typeof result === 'object' && 'statusCode' in result) {
    const status = Number(result.statusCode);
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      sendJson(res, 500, { message: 'Internal Server Error' }, base);
      return 500;
    }
    const headers = { ...base };
    for (const [k, v] of Object.entries(result.headers || {})) headers[k.toLowerCase()] = String(v);
    if (Array.isArray(result.cookies) && result.cookies.length) headers['set-cookie'] = result.cookies;
    let body = result.body ?? '';
    body = result.isBase64Encoded ? Buffer.from(String(body), 'base64') : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    send(res, status, headers, body);
    return status;
  }
  send(res, 200, { ...base, 'content-type': 'application/json' }, result === undefined ? '' : JSON.stringify(result));
  return 200;
}

// ---------------------------------------------------------------------------------------------
// Harness-only endpoints.
async function handleHarness(req, res, p) {
  if (req.method === 'GET' && p === '/__harness/stats') return sendJson(res, 200, stats);
  if (req.method === 'POST' && p === '/__harness/reset-stats') { await readBody(req); resetStats(); return sendJson(res, 200, { ok: true }); }
  if (req.method === 'POST' && p === '/__harness/reset') { await readBody(req); await resetData(); resetStats(); return sendJson(res, 200, { ok: true }); }
  if (req.method === 'GET' && p === '/__harness/schedules') return sendJson(res, 200, [...schedules.values()]);
  if (req.method === 'GET' && p === '/__harness/aws-requests') return sendJson(res, 200, awsRequests);
  if (req.method === 'POST' && p === '/__harness/token') {
    const raw = (await readBody(req)).toString('utf8');
    let input = {};
    try { input = raw ? JSON.parse(raw) : {}; } catch { return sendJson(res, 400, { message: 'invalid JSON' }); }
    const ttl = Number.isFinite(input.expiresInSeconds) ? input.expiresInSeconds : 12 * 3600;
    return sendJson(res, 200, { token: mintToken(input.claims || {}, ttl) });
  }
  return sendJson(res, 404, { message: `unknown harness endpoint ${req.method} ${p}` });
}

const mainServer = http.createServer((req, res) => {
  const p = new URL(req.url, 'http://127.0.0.1').pathname;
  const work = p.startsWith('/__harness/') ? handleHarness(req, res, p) : handleApi(req, res);
  work.catch((e) => {
    console.error('[allma-reference] request failed', e?.stack || e);
    if (!res.headersSent) sendJson(res, 500, { message: 'Internal Server Error' });
  });
});
mainServer.keepAliveTimeout = 5000;
const port = await listen(mainServer, requestedPort);

function shutdown(code = 0) {
  try { mainServer.closeAllConnections?.(); } catch { /* ignore */ }
  process.exit(code);
}
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
if (!ignoreStdin) {
  process.stdin.on('end', () => shutdown(0));
  process.stdin.on('close', () => shutdown(0));
  process.stdin.on('error', () => shutdown(0));
  process.stdin.resume();
}

process.stdout.write(JSON.stringify({ port, baseUrl: `http://127.0.0.1:${port}/${API_STAGE}`, tokens: TOKENS }) + '\n');
