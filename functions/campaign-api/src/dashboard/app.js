// The operator's dashboard: one row per campaign from GET /ui/campaigns,
// today's pacing per campaign from its audit trail, and Pause / Resume /
// Failback. No framework and no build step.
//
// Sign-in: /dashboard/config.json says where. With `auth: null` (local runs)
// requests go out without a token. Otherwise the supervisor signs in through
// the identity provider's hosted page (OAuth 2.0 authorization code with
// PKCE); the ID token is kept in sessionStorage for the tab and sent as
// `Authorization: Bearer` to /ui/..., where API Gateway's JWT authorizer
// checks it.
"use strict";

const REFRESH_MS = 30000;
const CHART_PAGES = 10;
const KEY = { token: "oa.idToken", expires: "oa.expiresAt", verifier: "oa.pkceVerifier", state: "oa.state" };
const $ = (id) => document.getElementById(id);
let config = { auth: null };


// ---------------------------------------------------------------- sign-in
function b64url(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function randomText(n) {
  return b64url(crypto.getRandomValues(new Uint8Array(n)));
}
function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
function redirectUri() {
  return `${location.origin}/dashboard`;
}
function token() {
  const t = sessionStorage.getItem(KEY.token);
  const exp = Number(sessionStorage.getItem(KEY.expires) || 0);
  return t && Date.now() < exp ? t : null;
}
function claims(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch (_) {
    return {};
  }
}
async function signIn() {
  const a = config.auth;
  const verifier = randomText(32);
  const state = randomText(16);
  sessionStorage.setItem(KEY.verifier, verifier);
  sessionStorage.setItem(KEY.state, state);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const q = new URLSearchParams({
    response_type: "code", client_id: a.clientId, redirect_uri: redirectUri(), scope: a.scopes,
    state, code_challenge: b64url(digest), code_challenge_method: "S256",
  });
  location.assign(`${a.authorizeUrl}?${q}`);
}
function signOut() {
  sessionStorage.removeItem(KEY.token);
  sessionStorage.removeItem(KEY.expires);
  const a = config.auth;
  if (a && a.logoutUrl) {
    const q = new URLSearchParams({ client_id: a.clientId, logout_uri: redirectUri() });
    location.assign(`${a.logoutUrl}?${q}`);
  } else {
    location.reload();
  }
}
// Finishes a sign-in when the provider sent the browser back with a code.
async function completeSignIn() {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  if (!code) return;
  history.replaceState(null, "", location.pathname);
  if (params.get("state") !== sessionStorage.getItem(KEY.state)) {
    throw new Error("sign-in answer does not match this tab's request; sign in again");
  }
  const a = config.auth;
  const body = new URLSearchParams({
    grant_type: "authorization_code", client_id: a.clientId, code,
    redirect_uri: redirectUri(), code_verifier: sessionStorage.getItem(KEY.verifier) || "",
  });
  const r = await fetch(a.tokenUrl, {
    method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body,
  });
  const t = await r.json().catch(() => ({}));
  if (!r.ok || !t.id_token) throw new Error(`sign-in failed: ${t.error || r.status}`);
  sessionStorage.setItem(KEY.token, t.id_token);
  sessionStorage.setItem(KEY.expires, String(Date.now() + 1000 * (Number(t.expires_in) || 3600) - 30000));
  sessionStorage.removeItem(KEY.verifier);
  sessionStorage.removeItem(KEY.state);
}
function showIdentity() {
  const signedIn = token();
  const needs = Boolean(config.auth);
  $("signin").hidden = !needs || Boolean(signedIn);
  $("signout").hidden = !needs || !signedIn;
  const c = signedIn ? claims(signedIn) : {};
  $("who").textContent = needs ? (signedIn ? `signed in as ${c.email || c["cognito:username"] || c.sub}` : "not signed in")
    : "local mode: no sign-in";
}

// ------------------------------------------------------------------- calls
class ApiFailure extends Error {
  constructor(status, body) {
    super((body && (body.message || body.error)) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}
async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    headers["Idempotency-Key"] = uuid();
  }
  const r = await fetch(`/ui${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
  });
  const data = await r.json().catch(() => null);
  if (r.status === 401 && config.auth) {
    sessionStorage.removeItem(KEY.token);
    showIdentity();
  }
  if (!r.ok) throw new ApiFailure(r.status, data);
  return data;
}
function showError(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}
function showStatus(text) {
  $("status").textContent = text;
  $("status").hidden = !text;
}

// -------------------------------------------------------------------- rows
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}
const sub = (text) => el("span", { class: "sub" }, text);
const fmt = (v, digits = 2) => (typeof v === "number" ? v.toFixed(digits) : "–");
function shortTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(11, 16) + "Z";
}
function pctCell(window, limit) {
  if (!window) return el("td", {}, "–");
  const pct = window.pct;
  const cls = typeof pct !== "number" ? "" : pct >= limit ? "red" : pct >= limit - 0.5 ? "amber" : "green";
  return el("td", {}, el("span", { class: `pct ${cls}` }, typeof pct === "number" ? `${pct.toFixed(2)} %` : "–"),
    sub(`${window.abandons ?? 0} of ${window.liveAnswers ?? 0}${window.days ? ` over ${fmt(window.days, 1)} d` : ""}`));
}
function tag(text, kind) {
  return el("span", { class: `tag ${kind}` }, text);
}
function actionButton(skillId, action, label) {
  const b = el("button", { type: "button", dataset: { action, skillId: String(skillId) } }, label);
  b.addEventListener("click", () => act(skillId, action, label));
  return b;
}
function row(c) {
  const id = c.skillId;
  if (c.error) {
    return el("tr", { class: "campaign failed", dataset: { skillId: String(id) } },
      el("td", {}, String(id)), el("td", { colspan: "10" }, `could not read: ${c.error}`));
  }
  const limit = (c.abandonment && c.abandonment.limitPct) || 3;
  const d = c.dialling || {};
  const s = c.staffing || {};
  const f = c.failover || {};
  const g = c.guard || {};
  const p = c.paused || {};
  const last = c.lastDecision;
  const holds = (c.holds || []).map((h) => `${h.field} held until ${shortTime(h.until)}`).join("; ");
  return el("tr", { class: "campaign", dataset: { skillId: String(id) } },
    el("td", {}, el("strong", {}, String(id)), sub(c.enabled ? "enabled" : "disabled"),
      c.nonCompliant ? tag("ring time non-compliant", "bad") : null),
    el("td", {}, `skill ${d.skillId ?? "–"}`, " ", d.running ? tag("running", "good") : tag("stopped", "warn"),
      d.isBackup ? sub("backup") : null),
    el("td", {}, `${(s.available ?? 0) + (s.working ?? 0) + (s.acw ?? 0)} staffed`,
      sub(`${s.available ?? "–"} avail · ${s.working ?? "–"} on call · ${s.acw ?? "–"} acw · ${s.loggedIn ?? "–"} in`)),
    el("td", {}, fmt(c.settings && c.settings.maximumRatio), holds ? sub(holds) : null),
    pctCell(c.abandonment && c.abandonment.today, limit),
    pctCell(c.abandonment && c.abandonment.period, limit),
    el("td", {}, tag(f.state || "–", f.state === "primary" || !f.state ? "good" : "warn"),
      c.successRate && typeof c.successRate.rate === "number"
        ? sub(`success ${(100 * c.successRate.rate).toFixed(1)} % of ${c.successRate.samples}`) : null),
    el("td", {}, g.stoppedByGuard ? tag("stopped by guard", "warn") : tag("clear", "good"),
      g.reason ? sub(g.reason) : null),
    el("td", { class: "paused" }, p.paused ? tag("paused", "bad") : tag("no", "good"),
      p.paused ? sub(`${p.by || ""}: ${p.reason || ""}`) : null),
    el("td", {}, last ? `${last.mode || last.outcome} ${fmt(last.maximumRatio)} at ${shortTime(last.at)}` : "–",
      last && last.reason ? sub(last.reason) : null),
    el("td", { class: "actions" }, actionButton(id, "pause", "Pause"), actionButton(id, "resume", "Resume"),
      actionButton(id, "failback", "Failback")));
}

// ------------------------------------------------------------------ charts
const W = 720, PAD_L = 44, PAD_R = 10, BAND = 64, GAP = 16;
const SVG = "http://www.w3.org/2000/svg";
function s(tagName, attrs, text) {
  const e = document.createElementNS(SVG, tagName);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}
function points(data, key, x, y) {
  return data.filter((d) => typeof d[key] === "number").map((d) => `${x(d.t).toFixed(1)},${y(d[key]).toFixed(1)}`).join(" ");
}
// One band: a label, its y range, lines for `series` ([key, class]), and marker lines.
function band(svg, i, data, x, label, series, lo, hi, marks) {
  const top = 8 + i * (BAND + GAP);
  const y = (v) => top + BAND - ((Math.min(Math.max(v, lo), hi) - lo) / (hi - lo || 1)) * BAND;
  svg.append(s("line", { class: "axis", x1: PAD_L, x2: W - PAD_R, y1: top + BAND, y2: top + BAND }));
  svg.append(s("text", { class: "label", x: PAD_L + 4, y: top + 10 }, label));
  svg.append(s("text", { x: PAD_L - 4, y: top + 8, "text-anchor": "end" }, String(+hi.toFixed(2))));
  svg.append(s("text", { x: PAD_L - 4, y: top + BAND, "text-anchor": "end" }, String(+lo.toFixed(2))));
  for (const [v, cls] of marks || []) {
    svg.append(s("line", { class: cls, x1: PAD_L, x2: W - PAD_R, y1: y(v), y2: y(v) }));
  }
  for (const [key, cls] of series) {
    const pts = points(data, key, x, y);
    if (pts) svg.append(s("polyline", { class: cls, points: pts, "data-series": key }));
  }
}
function drawChart(skillId, from, items, limit, target) {
  const start = new Date(from).getTime();
  const data = items
    .filter((r) => r.details && r.details.inputs && r.details.decision)
    .map((r) => {
      const inp = r.details.inputs, st = inp.staffing || {}, rec = inp.recent || {}, per = inp.period || {};
      const pct = (w) => (w.connects > 0 ? (100 * (w.abandons || 0)) / w.connects : undefined);
      return {
        t: new Date(r.at).getTime(),
        ratio: r.details.decision.maximumRatio,
        staffed: (st.available || 0) + (st.working || 0) + (st.acw || 0),
        loggedIn: st.loggedIn,
        period: pct(per),
        recent: pct(rec),
      };
    })
    .sort((a, b) => a.t - b.t);
  const end = Math.max(start + 24 * 3600e3, ...data.map((d) => d.t));
  const x = (t) => PAD_L + ((t - start) / (end - start)) * (W - PAD_L - PAD_R);
  const height = 3 * (BAND + GAP) + 14;
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${height}`, role: "img",
    "aria-label": `Campaign ${skillId}: ratio, staffing and abandonment today`, "data-skill-id": skillId,
    "data-points": data.length });
  const max = (k, floor) => Math.max(floor, ...data.map((d) => (typeof d[k] === "number" ? d[k] : 0)));
  band(svg, 0, data, x, "maximumRatio", [["ratio", "ratio"]], 1, Math.ceil(max("ratio", 1.5) * 2) / 2);
  band(svg, 1, data, x, "agents staffed (dashed: logged in)", [["staffed", "staffed"], ["loggedIn", "loggedin"]],
    0, Math.max(5, Math.ceil(max("loggedIn", 1) / 5) * 5));
  band(svg, 2, data, x, "abandonment % (period; light: last 15 min)", [["recent", "recent"], ["period", "period"]],
    0, Math.max(limit + 1, Math.ceil(max("period", 0))), [[limit, "limit"], [target, "target"]]);
  const axisY = 3 * (BAND + GAP) + 6;
  for (let h = 0; h <= 24; h += 3) {
    const t = start + h * 3600e3;
    if (t > end) break;
    const anchor = h === 0 ? "start" : h === 24 ? "end" : "middle";
    svg.append(s("text", { x: x(t), y: axisY, "text-anchor": anchor }, `${String(h).padStart(2, "0")}:00`));
  }
  const fig = el("figure", { class: "chart", dataset: { skillId: String(skillId) } },
    el("figcaption", {}, `Campaign ${skillId} today (${data.length} tuning decisions)`));
  fig.append(svg);
  return fig;
}
async function chartFor(c) {
  const from = (c.abandonment && c.abandonment.today && c.abandonment.today.from) ||
    new Date(new Date().setHours(0, 0, 0, 0)).toISOString();
  const items = [];
  let cursor = null;
  for (let page = 0; page < CHART_PAGES; page++) {
    const q = new URLSearchParams({ kind: "pacing.tune", from, limit: "200" });
    if (cursor) q.set("cursor", cursor);
    const r = await api("GET", `/campaigns/${c.skillId}/audit?${q}`);
    items.push(...r.items);
    cursor = r.nextCursor;
    if (!cursor) break;
  }
  const limit = (c.abandonment && c.abandonment.limitPct) || 3;
  const target = (c.abandonment && c.abandonment.targetPct) || limit - 0.5;
  return drawChart(c.skillId, from, items, limit, target);
}

// ----------------------------------------------------------------- actions
function askReason(title) {
  return new Promise((resolve) => {
    const dialog = $("reason-dialog"), form = $("reason-form"), input = $("reason");
    $("reason-title").textContent = title;
    input.value = "";
    const done = (value) => {
      form.removeEventListener("submit", onSubmit);
      $("reason-cancel").removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onCancel);
      dialog.close();
      resolve(value);
    };
    const onSubmit = (e) => {
      e.preventDefault();
      const v = input.value.trim();
      if (v) done(v);
    };
    const onCancel = (e) => {
      e.preventDefault();
      done(null);
    };
    form.addEventListener("submit", onSubmit);
    $("reason-cancel").addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onCancel);
    dialog.showModal();
    input.focus();
  });
}
async function act(skillId, action, label) {
  const reason = await askReason(`${label} campaign ${skillId}`);
  if (!reason) return;
  showError("");
  showStatus("");
  try {
    const r = await api("POST", `/campaigns/${skillId}/${action}`, { reason });
    showStatus(`${label} ${skillId}: ${r.message || (r.changed ? "done" : "nothing to change")}`);
  } catch (e) {
    showError(`${label} ${skillId} refused: ${e.message}`);
  }
  await refresh();
}

// ----------------------------------------------------------------- refresh
async function refresh() {
  if (config.auth && !token()) {
    showIdentity();
    $("updated").textContent = "sign in to see the campaigns";
    return;
  }
  try {
    const list = await api("GET", "/campaigns");
    const campaigns = (list && list.campaigns) || [];
    $("campaigns").tBodies[0].replaceChildren(...campaigns.map(row));
    const charts = await Promise.all(campaigns.filter((c) => !c.error).map((c) =>
      chartFor(c).catch((e) => el("p", { class: "banner error" }, `chart of ${c.skillId}: ${e.message}`))));
    $("charts").replaceChildren(...charts);
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    if ($("error").textContent.startsWith("Could not load")) showError("");
  } catch (e) {
    showError(`Could not load the campaigns: ${e.message}`);
  }
}

async function main() {
  try {
    const r = await fetch("/dashboard/config.json", { cache: "no-store" });
    config = await r.json();
  } catch (e) {
    showError(`Could not read the sign-in settings: ${e.message}`);
  }
  $("signin").addEventListener("click", () => signIn().catch((e) => showError(e.message)));
  $("signout").addEventListener("click", signOut);
  $("refresh").addEventListener("click", refresh);
  if (config.auth) {
    try {
      await completeSignIn();
    } catch (e) {
      showError(e.message);
    }
  }
  showIdentity();
  await refresh();
  setInterval(refresh, REFRESH_MS);
}

document.addEventListener("DOMContentLoaded", main);
