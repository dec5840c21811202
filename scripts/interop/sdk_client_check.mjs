// The official MCP TypeScript SDK (a third-party client) against the calle-tui sandbox.
//
// Starts `calle-tui sandbox --port 0 --auto-approve --ready-file F` as a child process, then checks what a
// strict client relies on (401 + WWW-Authenticate, RFC 9728 resource metadata per path, RFC 8414 issuer,
// CORS preflights from a browser origin), and runs the SDK's own OAuth flow (dynamic registration, PKCE,
// resource indicator) by following the authorize redirect itself, on both /mcp and /mcp/openagent_oauth:
// initialize, tools/list (output schemas compiled strictly by Ajv), plan_call with incomplete input (must ask),
// then plan_call -> run_call -> get_call_run on a sandbox number (the SDK validates structuredContent
// against each tool's outputSchema). Prints one line per check; exit code 0 only if all passed.
// Then MCP Inspector's CLI (node_modules/.bin/mcp-inspector, or $INSPECTOR): tools/list and plan_call with the token.
//
//   cd scripts/interop && npm install && node sdk_client_check.mjs [path/to/calle-tui]
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import Ajv2020 from 'ajv/dist/2020.js';

const here = dirname(fileURLToPath(import.meta.url));
const calle = process.argv[2] || resolve(here, '../../.venv/bin/calle-tui');
const BROWSER_ORIGIN = 'http://localhost:6274'; // MCP Inspector's web UI origin
const INSPECTOR = process.env.INSPECTOR || resolve(here, 'node_modules/.bin/mcp-inspector');
let failures = 0;
const check = (ok, what, detail = '') => {
  console.log(`${ok ? 'PASS' : 'FAIL'} ${what}${detail ? ` (${detail})` : ''}`);
  if (!ok) failures += 1;
  return ok;
};

// --- the sandbox as a child process ---------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'calle-interop-'));
const ready = join(dir, 'ready');
const child = spawn(calle, ['sandbox', '--port', '0', '--auto-approve', '--speed', '600', '--ready-file', ready,
  '--data', join(dir, 'data')], { stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
child.stderr.on('data', (d) => { stderr += d; });
const stop = () => { try { child.kill('SIGTERM'); } catch {} rmSync(dir, { recursive: true, force: true }); };
process.on('exit', stop);

async function waitForReady() {
  // An external process: poll for its ready file with a deadline.
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if (existsSync(ready)) return readFileSync(ready, 'utf8').trim();
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the sandbox did not start:\n${stderr}`);
}

// --- protocol checks with plain fetch ---------------------------------------------------------------
function parseChallenge(header) {
  // RFC 6750 §3: Bearer followed by comma-separated auth-params (token or quoted-string values).
  const m = /^Bearer\s+(.*)$/.exec(header || '');
  if (!m) return null;
  const params = {};
  const re = /\s*([A-Za-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))\s*(,|$)/gy;
  let rest = m[1];
  let match;
  let consumed = 0;
  while ((match = re.exec(rest)) !== null) {
    params[match[1]] = match[2] !== undefined ? match[2] : match[3];
    consumed = re.lastIndex;
    if (consumed >= rest.length) break;
  }
  return consumed === rest.length ? params : null;
}

async function strictChecks(base, path) {
  const url = base + path;
  const where = url.replace(/:\d+\//, '/'); // labels without the port
  const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18',
    capabilities: {}, clientInfo: { name: 'interop', version: '0' } } };
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(init),
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' } });
  check(res.status === 401, `${where}: unauthenticated initialize gets 401`, `got ${res.status}`);
  const challenge = parseChallenge(res.headers.get('www-authenticate'));
  check(challenge !== null, `${where}: WWW-Authenticate is a well-formed Bearer challenge`,
    res.headers.get('www-authenticate'));
  const prmUrl = challenge?.resource_metadata;
  check(Boolean(prmUrl) && new URL(prmUrl).origin === base, `${where}: challenge carries resource_metadata`, prmUrl);
  check(challenge?.scope === 'calls', `${where}: challenge names the scope to ask for`, challenge?.scope);
  const wellKnown = `${base}/.well-known/oauth-protected-resource${path}`;
  check(prmUrl === wellKnown, `${where}: resource_metadata is the RFC 9728 path-aware URL`, prmUrl);
  const prm = await (await fetch(prmUrl || wellKnown)).json();
  check(prm.resource === url, `${where}: protected-resource metadata 'resource' equals the URL used`, prm.resource);
  check(Array.isArray(prm.authorization_servers) && prm.authorization_servers.length > 0,
    `${where}: metadata lists authorization_servers`);
  const issuer = prm.authorization_servers?.[0];
  const asUrl = new URL(issuer);
  const asMetaUrl = new URL(`/.well-known/oauth-authorization-server${asUrl.pathname === '/' ? '' : asUrl.pathname}`, asUrl);
  const asMeta = await (await fetch(asMetaUrl)).json();
  check(asMeta.issuer === issuer, `${where}: AS metadata issuer matches exactly`, `${asMeta.issuer} vs ${issuer}`);
  check((asMeta.code_challenge_methods_supported || []).includes('S256'), `${where}: AS advertises PKCE S256`);
  check(Boolean(asMeta.registration_endpoint), `${where}: AS advertises dynamic registration`);

  // CORS: a browser-based client (MCP Inspector's UI, web apps) needs preflights to pass everywhere it goes.
  const preflights = [
    [url, 'POST', 'authorization, content-type, mcp-protocol-version, mcp-session-id'],
    [url, 'DELETE', 'authorization, mcp-session-id, mcp-protocol-version'],
    [wellKnown, 'GET', 'mcp-protocol-version'],
    [asMetaUrl.href, 'GET', 'mcp-protocol-version'],
    [asMeta.registration_endpoint, 'POST', 'content-type'],
    [asMeta.token_endpoint, 'POST', 'content-type'],
  ];
  for (const [target, method, headers] of preflights) {
    const pre = await fetch(target, { method: 'OPTIONS', headers: { origin: BROWSER_ORIGIN,
      'access-control-request-method': method, 'access-control-request-headers': headers } });
    const allowOrigin = pre.headers.get('access-control-allow-origin');
    const allowHeaders = (pre.headers.get('access-control-allow-headers') || '').toLowerCase();
    const okHeaders = allowHeaders === '*' || headers.split(',').every((h) => allowHeaders.includes(h.trim()));
    check(pre.ok && (allowOrigin === '*' || allowOrigin === BROWSER_ORIGIN) && okHeaders,
      `CORS preflight ${method} ${target.replace(/:\d+\//, '/')}`, `status ${pre.status}, origin ${allowOrigin}, headers ${allowHeaders}`);
  }
  const got = await fetch(url, { method: 'POST', body: JSON.stringify(init), headers: { origin: BROWSER_ORIGIN,
    'content-type': 'application/json', accept: 'application/json, text/event-stream' } });
  check(got.headers.get('access-control-allow-origin') !== null && /www-authenticate/i.test(
    got.headers.get('access-control-expose-headers') || ''), `${where}: browser can read the 401 challenge`,
  `expose: ${got.headers.get('access-control-expose-headers')}`);
}

// --- the SDK's OAuth flow, with the "browser" played by fetch ----------------------------------------
class FollowingProvider {
  constructor() { this.info = undefined; this.saved = undefined; this.verifier = undefined; this.code = undefined; }
  get redirectUrl() { return 'http://127.0.0.1:9/callback'; }
  get clientMetadata() {
    return { client_name: 'MCP TypeScript SDK interop check', redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  state() { this.expectedState = `st-${Math.random().toString(36).slice(2)}`; return this.expectedState; }
  clientInformation() { return this.info; }
  saveClientInformation(info) { this.info = info; }
  tokens() { return this.saved; }
  saveTokens(tokens) { this.saved = tokens; }
  saveCodeVerifier(v) { this.verifier = v; }
  codeVerifier() { return this.verifier; }
  async redirectToAuthorization(authorizationUrl) {
    this.authorizationUrl = authorizationUrl;
    const res = await fetch(authorizationUrl, { redirect: 'manual' });
    const location = new URL(res.headers.get('location'), authorizationUrl);
    if (location.searchParams.get('state') !== this.expectedState) throw new Error('state mismatch on redirect');
    this.code = location.searchParams.get('code');
  }
}

async function connect(url, provider) {
  const make = () => new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
  const client = new Client({ name: 'calle-interop', version: '1.0.0' });
  try {
    await client.connect(make());
    return client;
  } catch (err) {
    if (!(err instanceof UnauthorizedError)) throw err;
  }
  const transport = make();
  await transport.finishAuth(provider.code);
  await client.connect(transport);
  return client;
}

async function sdkFlow(base, path) {
  const url = base + path;
  const where = url.replace(/:\d+\//, '/');
  const provider = new FollowingProvider();
  const client = await connect(url, provider);
  const resource = provider.authorizationUrl?.searchParams.get('resource');
  check(Boolean(provider.saved?.access_token), `${where}: SDK OAuth flow (DCR + PKCE + code exchange) got a token`);
  check(resource === url, `${where}: SDK sent resource indicator equal to the URL it used`, resource);
  const info = client.getServerVersion();
  check(info?.name === 'calle-sandbox', `${where}: initialize`, `server ${info?.name} ${info?.version}`);
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  check(JSON.stringify(names) === JSON.stringify(['get_call_run', 'plan_call', 'run_call']), `${where}: tools/list`, names.join(','));
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  for (const tool of tools) {
    check(typeof tool.description === 'string' && tool.description.length > 40, `${tool.name}: has a description`);
    const hints = tool.annotations || {};
    check(hints.readOnlyHint === (tool.name === 'get_call_run') && hints.openWorldHint === (tool.name === 'run_call'),
      `${tool.name}: annotations (readOnlyHint/openWorldHint) tell clients which tool is safe`, JSON.stringify(hints));
    for (const kind of ['inputSchema', 'outputSchema']) {
      let ok = true; let why = '';
      try { ajv.compile(tool[kind]); } catch (e) { ok = false; why = e.message; }
      check(ok && tool[kind].type === 'object', `${tool.name}: ${kind} compiles under Ajv strict (2020-12)`, why);
    }
  }
  // Safe smoke test from the seed: incomplete input must ask for details.
  const ask = await client.callTool({ name: 'plan_call', arguments: { user_input: 'call the dentist' } });
  const planAsk = ask.structuredContent;
  check(!ask.isError && planAsk?.ready_to_run === false && planAsk.missing.length > 0,
    `${where}: plan_call with incomplete input asks for missing details`, (planAsk?.missing || []).map((m) => m.field).join(','));
  check(JSON.stringify(JSON.parse(ask.content[0].text)) === JSON.stringify(planAsk), `${where}: text content mirrors structuredContent`);
  const plan = (await client.callTool({ name: 'plan_call', arguments: {
    user_input: 'Call +44 20 7946 0001 and ask about opening hours', language: 'English' } })).structuredContent;
  check(plan?.ready_to_run === true && Boolean(plan.confirm_token), `${where}: plan_call with full input is ready`);
  const run = (await client.callTool({ name: 'run_call', arguments: { plan_id: plan.plan_id, confirm_token: plan.confirm_token } }));
  check(!run.isError && Boolean(run.structuredContent?.run_id), `${where}: run_call started a simulated call`, run.structuredContent?.status);
  const wrong = await client.callTool({ name: 'run_call', arguments: { plan_id: plan.plan_id, confirm_token: 'not-the-token' } });
  check(wrong.isError === true, `${where}: run_call with a wrong confirm_token is a tool error`);
  const status = await client.callTool({ name: 'get_call_run', arguments: { run_id: run.structuredContent.run_id, limit: 5 } });
  check(!status.isError && status.structuredContent?.run_id === run.structuredContent.run_id,
    `${where}: get_call_run (structuredContent validated by the SDK)`, `status ${status.structuredContent?.status}`);
  await client.close();
  return provider.saved.access_token;
}

async function refreshFlow(base) {
  // Short-lived access tokens (the sandbox's admin endpoint), then a call after expiry: the SDK must refresh
  // with its refresh token on the 401 and retry, without a new authorization.
  const admin = (body) => fetch(`${base}/_sandbox/faults`, { method: 'POST', body: JSON.stringify(body) });
  await admin({ token_lifetime: 1 });
  const provider = new FollowingProvider();
  const client = await connect(`${base}/mcp`, provider);
  const before = await (await fetch(`${base}/_sandbox/stats`)).json();
  const first = provider.saved.access_token;
  const deadline = Date.now() + 10000; // an external process: poll with a deadline until the token is refused
  let refused = false;
  while (!refused && Date.now() < deadline) {
    const res = await fetch(`${base}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${first}`,
      'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
    refused = res.status === 401;
    if (!refused) await new Promise((r) => setTimeout(r, 200));
  }
  await admin({ token_lifetime: 3600 });
  const asked = await client.callTool({ name: 'plan_call', arguments: { user_input: 'call the dentist' } });
  const after = await (await fetch(`${base}/_sandbox/stats`)).json();
  check(refused && !asked.isError && provider.saved.access_token !== first, 'SDK refreshes an expired token and retries',
    `refresh grants ${before.token_grants.refresh_token || 0} -> ${after.token_grants.refresh_token || 0}`);
  check(after.authorize_requests === before.authorize_requests, 'no new authorization for a refresh');
  await client.close();
}

async function inspector(args) {
  const out = await new Promise((res) => execFile(INSPECTOR, ['--cli', ...args], { timeout: 60000 },
    (err, stdout, se) => res({ err, stdout, se })));
  try { return { json: JSON.parse(out.stdout) }; } catch { return { why: String(out.se || out.stdout).split('\n').find((l) => l.trim()) }; }
}

async function inspectorCli(url, token) {
  // MCP Inspector's CLI mode (>= 0.16 has --header; it runs on node 20 despite its engines field).
  if (!existsSync(INSPECTOR)) { console.log(`SKIP MCP Inspector CLI (not found at ${INSPECTOR})`); return; }
  const auth = ['--transport', 'http', '--header', `Authorization: Bearer ${token}`];
  const listed = await inspector([url, ...auth, '--method', 'tools/list']);
  const names = (listed.json?.tools || []).map((t) => t.name).sort().join(',');
  check(names === 'get_call_run,plan_call,run_call', `${url.replace(/:\d+\//, '/')}: MCP Inspector CLI tools/list with a bearer token`, listed.why || names);
  const asked = await inspector([url, ...auth, '--method', 'tools/call', '--tool-name', 'plan_call',
    '--tool-arg', 'user_input=call the dentist']);
  const plan = asked.json?.structuredContent;
  check(plan?.ready_to_run === false && plan.missing?.length > 0,
    `${url.replace(/:\d+\//, '/')}: MCP Inspector CLI plan_call with incomplete input asks for details`, asked.why || (plan?.missing || []).map((m) => m.field).join(','));
  const anonymous = await inspector([url, '--transport', 'http', '--method', 'tools/list']);
  check(!anonymous.json, `${url.replace(/:\d+\//, '/')}: MCP Inspector CLI without a token is refused`, anonymous.why);
}

try {
  const ready = await waitForReady();
  console.log(`sandbox at ${ready}`);
  // The banner says 127.0.0.1; people (and Inspector's docs) often type localhost: both must work.
  for (const base of [ready, ready.replace('127.0.0.1', 'localhost')]) {
    for (const path of ['/mcp', '/mcp/openagent_oauth']) {
      await strictChecks(base, path);
      const token = await sdkFlow(base, path);
      await inspectorCli(base + path, token);
    }
  }
  await refreshFlow(ready);
} catch (err) {
  check(false, 'unexpected error', err?.stack || String(err));
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
