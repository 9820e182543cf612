// The admin studio's page: browse, filter and edit rows through the REST API, watch the change log, read who may
// do what, see the sockets' clients and the webhooks. Everything the server sends is shown as text (textContent and
// text nodes, never parsed as HTML), so a row's value cannot become markup. The admin key, or a signed-in user's
// tokens, live in this tab's sessionStorage.
'use strict';

const $ = (id) => document.getElementById(id);
const TAKE = 50;
const state = { key: sessionStorage.getItem('ssot.adminKey') || '', meta: null, model: null, skip: 0, total: 0, rows: [], timer: null, changesSeq: null };
// A user's session ({accessToken, refreshToken}), when a user signed in rather than the admin key.
let session = JSON.parse(sessionStorage.getItem('ssot.session') || 'null');
// The login body's field besides `password` (from the API's index), when the schema has users.
let identityField = null;

/** One element: props (class, attributes, on* listeners) and children (nodes, or values shown as text). */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

async function api(method, path, body, retried = false) {
  const headers = { authorization: `Bearer ${session ? session.accessToken : state.key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  // A user's access token lives minutes: refreshed once, then the request goes again.
  if (response.status === 401 && session && !retried && (await refresh())) return api(method, path, body, true);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text }; }
  if (!response.ok) {
    const error = new Error((data && (data.detail || data.title)) || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function shown(value) {
  if (value === null || value === undefined) return 'null';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

async function refresh() {
  if (!session || !session.refreshToken) return false;
  const response = await fetch('/api/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: session.refreshToken }) });
  if (!response.ok) return false;
  const next = await response.json();
  session = { accessToken: next.accessToken, refreshToken: next.refreshToken || session.refreshToken };
  sessionStorage.setItem('ssot.session', JSON.stringify(session));
  return true;
}

// Signing in as a user: their session, then the studio opened with it.
async function login(identity, password) {
  $('signin-error').textContent = '';
  const response = await fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ [identityField]: identity, password }) });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    $('signin-error').textContent = response.status === 401 ? 'Wrong e-mail or password.' : data.detail || `${response.status} ${response.statusText}`;
    return;
  }
  session = { accessToken: data.accessToken, refreshToken: data.refreshToken };
  sessionStorage.setItem('ssot.session', JSON.stringify(session));
  open();
}

// Signing in: the credentials (the key, or the session) are checked by reading the access table with them.
async function open(key) {
  if (key !== undefined) { state.key = key; session = null; sessionStorage.removeItem('ssot.session'); }
  try {
    state.meta = await api('GET', '/api/_studio/access');
  } catch (error) {
    const refused = error.status === 401 || error.status === 403;
    if (session) {
      session = null;
      sessionStorage.removeItem('ssot.session');
      $('signin-error').textContent = refused ? 'The studio is not open to this user.' : error.message;
    } else {
      sessionStorage.removeItem('ssot.adminKey');
      $('signin-error').textContent = refused ? 'That is not the admin key.' : error.message;
    }
    return;
  }
  if (!session) sessionStorage.setItem('ssot.adminKey', state.key);
  const caller = state.meta.caller || { kind: 'admin' };
  $('whoami').textContent = caller.kind === 'user' ? `user ${caller.sub}` : 'admin key';
  // The clients and the webhooks are the admin key's alone (they may hold values from rows).
  for (const tab of ['clients', 'services']) $('tabs').querySelector(`[data-tab="${tab}"]`).hidden = caller.kind === 'user';
  $('whoami').hidden = false;
  $('signin').hidden = true;
  $('app').hidden = false;
  $('tabs').hidden = false;
  $('signout').hidden = false;
  renderModels();
  renderAccess();
  if (state.meta.models.length) selectModel(state.meta.models[0]);
}

function showTab(name) {
  for (const button of $('tabs').querySelectorAll('button')) button.classList.toggle('active', button.dataset.tab === name);
  for (const section of document.querySelectorAll('.tab')) section.hidden = section.id !== `tab-${name}`;
  clearInterval(state.timer);
  state.timer = null;
  if (name === 'changes') { state.changesSeq = null; $('changes').replaceChildren(); pollChanges(); state.timer = setInterval(pollChanges, 1000); }
  if (name === 'clients') { loadClients(); state.timer = setInterval(loadClients, 2000); }
  if (name === 'services') loadServices();
  if (name === 'access') renderAccess();
}

async function signOut() {
  if (session) {
    // Ends the session on the server too; the page forgets it either way.
    await api('POST', '/api/auth/logout', { refreshToken: session.refreshToken }).catch(() => {});
  }
  sessionStorage.removeItem('ssot.adminKey');
  sessionStorage.removeItem('ssot.session');
  location.reload();
}

// Data: a model's rows, filtered and paged; a row opens in the editor.
function renderModels() {
  $('models').replaceChildren(...state.meta.models.map((m) => el('button', { type: 'button', 'data-model': m.model, onclick: () => selectModel(m) }, m.model)));
}

function selectModel(model) {
  state.model = model;
  state.skip = 0;
  $('where').value = '';
  $('orderBy').value = '';
  for (const b of $('models').querySelectorAll('button')) b.classList.toggle('active', b.dataset.model === model.model);
  $('editor').hidden = true;
  loadRows();
}

function parseOption(id) {
  const text = $(id).value.trim();
  if (!text) return undefined;
  try { return JSON.parse(text); } catch (error) { throw new Error(`${id} is not JSON: ${error.message}`); }
}

async function loadRows() {
  const model = state.model;
  $('data-error').textContent = '';
  try {
    const body = { take: TAKE, skip: state.skip };
    const where = parseOption('where');
    const orderBy = parseOption('orderBy');
    if (where !== undefined) body.where = where;
    if (orderBy !== undefined) body.orderBy = orderBy;
    const page = await api('POST', `${model.path}/query`, body);
    state.rows = page.data;
    state.total = page.meta.total;
    renderRows();
  } catch (error) {
    $('data-error').textContent = error.message;
  }
}

function renderRows() {
  const fields = state.model.fields.map((f) => f.name);
  const head = el('tr', {}, ...fields.map((f) => el('th', {}, f)));
  const body = state.rows.map((row, i) =>
    el('tr', { 'data-row': String(i), onclick: () => openEditor(row) }, ...fields.map((f) => el('td', row[f] === null ? { class: 'null' } : {}, shown(row[f])))),
  );
  $('rows').replaceChildren(el('table', {}, el('thead', {}, head), el('tbody', {}, ...body)));
  const last = Math.min(state.skip + state.rows.length, state.total);
  $('page').textContent = state.total ? `${state.skip + 1}–${last} of ${state.total}` : 'no rows';
  $('prev').disabled = state.skip === 0;
  $('next').disabled = last >= state.total;
}

function idPath(row) {
  return state.model.id.map((f) => encodeURIComponent(String(row[f]))).join(',');
}

function openEditor(row) {
  const model = state.model;
  $('editor').hidden = false;
  $('editor-status').textContent = '';
  $('editor-title').textContent = `${model.model} ${model.id.map((f) => row[f]).join(', ')}`;
  $('editor').dataset.id = idPath(row);
  const inputs = model.fields.map((field) => {
    const value = row[field.name];
    const readOnly = model.id.includes(field.name);
    const complex = field.list || field.type === 'Json' || (value !== null && typeof value === 'object');
    const input = el(complex ? 'textarea' : 'input', { name: field.name, 'data-type': field.type, 'data-original': shown(value) });
    input.value = value === null || value === undefined ? '' : complex ? JSON.stringify(value, null, 2) : String(value);
    if (readOnly) input.setAttribute('readonly', '');
    return el('label', {}, `${field.name} (${field.type}${field.list ? '[]' : ''}${field.optional ? ', optional' : ''})`, input);
  });
  $('editor-fields').replaceChildren(...inputs);
}

/** An input's text as the field's JSON value. */
function valueOf(input) {
  const text = input.value;
  const type = input.dataset.type;
  if (text === '' && type !== 'String') return null;
  if (input.tagName === 'TEXTAREA') return JSON.parse(text);
  if (type === 'Int' || type === 'Float') return Number(text);
  if (type === 'Boolean') return text === 'true';
  return text;
}

async function saveEditor(event) {
  event.preventDefault();
  const changes = {};
  try {
    for (const input of $('editor-fields').querySelectorAll('input, textarea')) {
      if (input.hasAttribute('readonly')) continue;
      const value = valueOf(input);
      if (shown(value) !== input.dataset.original) changes[input.name] = value;
    }
  } catch (error) {
    $('editor-status').textContent = `Not saved: ${error.message}`;
    return;
  }
  if (!Object.keys(changes).length) { $('editor-status').textContent = 'Nothing changed.'; return; }
  try {
    const saved = await api('PATCH', `${state.model.path}/${$('editor').dataset.id}`, changes);
    $('editor-status').textContent = 'Saved.';
    openEditor(saved);
    $('editor-status').textContent = 'Saved.';
    loadRows();
  } catch (error) {
    $('editor-status').textContent = `Not saved: ${error.message}`;
  }
}

// The change log, newest first, polled while its tab shows.
async function pollChanges() {
  try {
    const query = state.changesSeq === null ? 'take=100' : `after=${state.changesSeq}&take=500`;
    const page = await api('GET', `/api/_studio/changes?${query}`);
    state.changesSeq = page.seq;
    for (const change of page.changes) {
      const row = change.new ?? change.old;
      $('changes').prepend(
        el('tr', { 'data-seq': String(change.seq) }, el('td', {}, change.seq), el('td', {}, change.at), el('td', {}, change.model),
          el('td', { class: `op-${change.op}` }, change.op), el('td', {}, row ? JSON.stringify(row) : '')),
      );
    }
  } catch (error) {
    $('changes').prepend(el('tr', {}, el('td', { class: 'error', colspan: '5' }, error.message)));
  }
}

function renderAccess() {
  if (!state.meta) return;
  $('access').replaceChildren(...state.meta.models.map((m) => {
    const ops = Object.entries(m.operations).map(([op, rules]) =>
      el('tr', {}, el('th', {}, op), el('td', {}, rules.length ? rules.join('  or  ') : 'nobody')));
    const fieldRules = m.fieldRules.map((r) => el('li', {}, el('code', {}, r.field), ` ${r.operation}: `, el('code', {}, r.rule)));
    return el('div', { class: 'card', 'data-model': m.model }, el('h4', {}, `${m.model}  `, el('code', {}, m.path)), el('table', {}, el('tbody', {}, ...ops)),
      fieldRules.length ? el('ul', {}, ...fieldRules) : '');
  }));
}

async function loadClients() {
  try {
    const answer = await api('GET', '/api/_studio/clients');
    $('clients-summary').textContent = `${answer.connections} connection${answer.connections === 1 ? '' : 's'} on this instance`;
    $('clients').replaceChildren(...answer.clients.map((c) => {
      const subs = c.subscriptions.map((s) => el('tr', {}, el('td', {}, s.id), el('td', {}, s.model), el('td', {}, s.kind), el('td', {}, s.options),
        el('td', {}, shown(s.caller)), el('td', {}, s.rows), el('td', {}, s.seq)));
      return el('div', { class: 'card' }, el('h4', {}, `connection ${c.connection}`),
        subs.length ? el('table', {}, el('thead', {}, el('tr', {}, ...['id', 'model', 'kind', 'options', 'caller', 'rows', 'seq'].map((h) => el('th', {}, h)))), el('tbody', {}, ...subs)) : el('p', { class: 'hint' }, 'no subscriptions'),
        c.channels.length ? el('p', {}, `channels: ${c.channels.join(', ')}`) : '');
    }));
  } catch (error) {
    $('clients-summary').textContent = error.message;
  }
}

async function loadServices() {
  let answer;
  try {
    answer = await api('GET', '/api/_services');
  } catch (error) {
    $('services').replaceChildren(el('p', { class: 'hint' }, error.status === 404 ? 'No @@service in this schema.' : error.message));
    return;
  }
  const columns = ['model', 'cursor', 'lag', 'leased', 'delivered', 'retried', 'dead', 'deadLetters'];
  const cards = await Promise.all(answer.data.map(async (service) => {
    const name = encodeURIComponent(service.name);
    let dead = [];
    try {
      dead = (await api('GET', `/api/_services/${name}/dead`)).data;
    } catch (error) {
      dead = [];
    }
    const act = (method, path) => async () => {
      try { await api(method, path); } catch (error) { alert(error.message); }
      loadServices();
    };
    const status = el('table', {}, el('thead', {}, el('tr', {}, ...columns.map((c) => el('th', {}, c)))),
      el('tbody', {}, el('tr', {}, ...columns.map((c) => el('td', {}, shown(service[c]))))));
    const letters = dead.map((d) => el('tr', { 'data-dead': String(d.id) }, el('td', {}, d.id), el('td', {}, d.eventId), el('td', {}, d.seq), el('td', {}, d.attempts),
      el('td', {}, d.error), el('td', {}, d.at),
      el('td', {}, el('button', { type: 'button', onclick: act('POST', `/api/_services/${name}/dead/${d.id}/replay`) }, 'Replay'), ' ',
        el('button', { type: 'button', onclick: act('DELETE', `/api/_services/${name}/dead/${d.id}`) }, 'Drop'))));
    // Disabled by a 410 from its endpoint: why, and the way back.
    const disabled = service.disabled
      ? el('p', { class: 'error' }, `Disabled: ${service.disabled} `, el('button', { type: 'button', onclick: act('POST', `/api/_services/${name}/enable`) }, 'Enable'))
      : '';
    return el('div', { class: 'card', 'data-service': service.name }, el('h4', {}, service.name), disabled, status,
      el('h4', {}, `Dead letters: ${dead.length} `, dead.length ? el('button', { type: 'button', onclick: act('POST', `/api/_services/${name}/dead/replay`) }, 'Replay all') : ''),
      dead.length ? el('table', {}, el('thead', {}, el('tr', {}, ...['id', 'event', 'seq', 'attempts', 'last error', 'at', ''].map((h) => el('th', {}, h)))), el('tbody', {}, ...letters)) : '');
  }));
  $('services').replaceChildren(...(cards.length ? cards : [el('p', { class: 'hint' }, 'No @@service in this schema.')]));
}

document.addEventListener('DOMContentLoaded', () => {
  $('signin-form').addEventListener('submit', (event) => { event.preventDefault(); open($('key').value); });
  $('login-form').addEventListener('submit', (event) => { event.preventDefault(); login($('identity').value, $('password').value); });
  $('signout').addEventListener('click', () => signOut());
  $('tabs').addEventListener('click', (event) => { const tab = event.target.dataset && event.target.dataset.tab; if (tab) showTab(tab); });
  $('filter').addEventListener('submit', (event) => { event.preventDefault(); state.skip = 0; loadRows(); });
  $('prev').addEventListener('click', () => { state.skip = Math.max(0, state.skip - TAKE); loadRows(); });
  $('next').addEventListener('click', () => { state.skip += TAKE; loadRows(); });
  $('editor').addEventListener('submit', saveEditor);
  $('editor-cancel').addEventListener('click', () => { $('editor').hidden = true; });
  // The user form when the schema has users (the index names the login's identity field).
  fetch('/api').then((r) => r.json()).then((index) => {
    const auth = index.links && index.links.auth;
    if (!auth || !auth.identity) return;
    identityField = auth.identity;
    $('identity-label').textContent = auth.identity;
    $('login-form').hidden = false;
  }).catch(() => {});
  if (session) open();
  else if (state.key) open(state.key);
});
