// The web page of the invoice API: sign in, upload with progress, a live document list, an invoice view,
// exports. Plain ES module, no build step. config.json beside this file says where the API is and how to
// sign in: {"apiBaseUrl": "", "auth": {"mode": "local"}} from the local API server, or
// {"apiBaseUrl": "https://...", "auth": {"mode": "cognito", "domain", "clientId", "redirectUri", "scopes",
// "identityProviders"}} written by Terraform. Everything from the API is rendered with textContent, never
// as HTML. The review queue and the review view of one invoice are review.js's.

import { setupReview } from "./review.js";

const POLL_MS = 2500;
const TERMINAL = new Set(["COMPLETED", "NEEDS_REVIEW", "FAILED", "DUPLICATE"]);
// An invoice a reviewer decided (domain/status.py DECISIONS); the list shows it beside the document's status.
const DECIDED = new Set(["APPROVED", "REJECTED"]);
const TYPES = { pdf: "application/pdf", png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", tif: "image/tiff", tiff: "image/tiff", xml: "application/xml" };
const TOKEN_KEY = "invoices.token";

const $ = (selector) => document.querySelector(selector);
const state = { config: null, token: null, nextCursor: null, openId: null, uploads: new Map(), timer: null, review: null };

// --- small helpers ------------------------------------------------------------------------------------
function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function show(message, isError = false) {
  const box = $("#message");
  box.textContent = message;
  box.className = isError ? "error" : "";
  box.hidden = !message;
}

function fact(dl, term, value) {
  if (value === undefined || value === null || value === "") return;
  dl.append(el("dt", term));
  const dd = el("dd");
  if (value instanceof Node) dd.append(value); else dd.textContent = String(value);
  dl.append(dd);
}

function badge(status) {
  return el("span", status, `status status-${status}`);
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// --- authentication -----------------------------------------------------------------------------------
function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(n) {
  return b64url(crypto.getRandomValues(new Uint8Array(n)));
}

async function cognitoRedirect(identityProvider) {
  // Authorization code with PKCE: the page is a public client, it holds no secret.
  const auth = state.config.auth;
  const verifier = randomText(48);
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const stateValue = randomText(16);
  sessionStorage.setItem("invoices.pkce", JSON.stringify({ verifier, state: stateValue }));
  const params = new URLSearchParams({
    response_type: "code", client_id: auth.clientId, redirect_uri: auth.redirectUri,
    scope: (auth.scopes || ["openid", "email"]).join(" "), code_challenge: challenge,
    code_challenge_method: "S256", state: stateValue,
  });
  if (identityProvider) params.set("identity_provider", identityProvider);
  location.assign(`https://${auth.domain}/oauth2/authorize?${params}`);
}

async function cognitoCallback() {
  const query = new URLSearchParams(location.search);
  const code = query.get("code");
  if (!code) return;
  history.replaceState(null, "", location.pathname);
  const saved = JSON.parse(sessionStorage.getItem("invoices.pkce") || "{}");
  sessionStorage.removeItem("invoices.pkce");
  if (!saved.verifier || saved.state !== query.get("state")) {
    show("Sign-in answer did not match this browser's request; please sign in again.", true);
    return;
  }
  const auth = state.config.auth;
  const response = await fetch(`https://${auth.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", client_id: auth.clientId, code,
      redirect_uri: auth.redirectUri, code_verifier: saved.verifier,
    }),
  });
  if (!response.ok) {
    show(`Sign-in failed (${response.status}).`, true);
    return;
  }
  const tokens = await response.json();
  setToken(tokens.access_token);
}

function setToken(token) {
  state.token = token || null;
  if (state.token) sessionStorage.setItem(TOKEN_KEY, state.token); else sessionStorage.removeItem(TOKEN_KEY);
}

function tokenSubject(token) {
  try {
    const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return claims.email || claims.username || claims["cognito:username"] || claims.sub || "";
  } catch {
    return "";
  }
}

function signOut(message) {
  setToken(null);
  stopPolling();
  const auth = state.config.auth;
  if (auth.mode === "cognito" && !message) {
    const params = new URLSearchParams({ client_id: auth.clientId, logout_uri: auth.redirectUri });
    location.assign(`https://${auth.domain}/logout?${params}`);
    return;
  }
  render();
  if (message) show(message, true);
}

// --- the API ------------------------------------------------------------------------------------------
async function api(path, options = {}) {
  const response = await fetch(state.config.apiBaseUrl + path, {
    ...options,
    headers: { Authorization: `Bearer ${state.token}`, ...(options.headers || {}) },
  });
  if (response.status === 401) {
    signOut("Your session has ended: please sign in again.");
    throw new ApiError(401, "UNAUTHORIZED", "not signed in");
  }
  if (!response.ok && response.type !== "opaqueredirect") {
    let code = "HTTP_" + response.status;
    let message = response.statusText;
    try {
      const body = await response.json();
      code = body.error?.code || code;
      message = body.error?.message || body.message || message;
    } catch { /* not JSON */ }
    throw new ApiError(response.status, code, message);
  }
  return response;
}

function filterParams() {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData($("#filters"))) {
    if (String(value).trim()) params.set(name, String(value).trim());
  }
  return params;
}

// --- uploads ------------------------------------------------------------------------------------------
function contentTypeOf(file) {
  const ext = file.name.split(".").pop().toLowerCase();
  return Object.values(TYPES).includes(file.type) ? file.type : TYPES[ext];
}

function uploadRow(file) {
  const li = el("li", null, "upload");
  li.append(el("span", file.name, "name"));
  const bar = el("progress");
  bar.max = 100;
  bar.value = 0;
  li.append(bar);
  const status = el("span", "waiting", "upload-status");
  li.append(status);
  $("#uploads").prepend(li);
  return { li, bar, status };
}

async function uploadOne(file) {
  const row = uploadRow(file);
  const contentType = contentTypeOf(file);
  if (!contentType) {
    row.status.textContent = "not a PDF, PNG, JPEG or TIFF";
    row.li.classList.add("failed");
    return;
  }
  try {
    const ticket = await (await api("/documents", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ filename: file.name, content_type: contentType, size: file.size }),
    })).json();
    row.li.dataset.key = ticket.key;
    state.uploads.set(ticket.key, row);
    row.status.textContent = "uploading";
    await postForm(ticket, file, contentType, (fraction) => { row.bar.value = Math.round(fraction * 100); });
    row.bar.value = 100;
    row.status.textContent = "uploaded, waiting for the pipeline";
    refreshList();
  } catch (error) {
    row.status.textContent = `failed: ${error.message}`;
    row.li.classList.add("failed");
  }
}

function postForm(ticket, file, contentType, onProgress) {
  // XMLHttpRequest rather than fetch: fetch reports no upload progress.
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(ticket.fields)) form.append(name, value);
    form.append("file", new Blob([file], { type: contentType }), file.name);
    const xhr = new XMLHttpRequest();
    xhr.open(ticket.method, ticket.url);
    xhr.upload.onprogress = (event) => { if (event.lengthComputable) onProgress(event.loaded / event.total); };
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`storage answered ${xhr.status}`)));
    xhr.onerror = () => reject(new Error("upload failed (network)"));
    xhr.send(form);
  });
}

function trackUploads(items) {
  for (const doc of items) {
    const row = state.uploads.get(doc.key);
    if (!row) continue;
    row.status.replaceChildren(badge(doc.status));
    row.li.dataset.documentId = doc.id;
    if (TERMINAL.has(doc.status)) state.uploads.delete(doc.key);
  }
}

// --- the document list --------------------------------------------------------------------------------
function documentRow(doc) {
  const tr = el("tr");
  tr.dataset.id = doc.id;
  tr.dataset.key = doc.key;
  tr.dataset.status = doc.status;
  tr.tabIndex = 0;
  const file = el("td", doc.key.split("/").pop(), "file");
  file.title = doc.key;
  const status = el("td");
  status.append(badge(doc.status));
  // a reviewer's decision on the invoice, beside what the pipeline made of the document
  if (DECIDED.has(doc.invoice_status)) status.append(" ", badge(doc.invoice_status));
  if (doc.error_code) status.append(el("span", ` ${doc.error_code}`, "error-code"));
  tr.append(file, status, el("td", doc.vendor_name), el("td", doc.invoice_number), el("td", doc.invoice_date),
    el("td", doc.total ? `${doc.total} ${doc.currency || ""}` : "", "num"), el("td", when(doc.created_at)));
  tr.addEventListener("click", () => openDocument(doc.id));
  tr.addEventListener("keydown", (event) => { if (event.key === "Enter") openDocument(doc.id); });
  return tr;
}

async function refreshList(append = false) {
  if (!state.token) return;
  const params = filterParams();
  params.set("limit", "50");
  if (append && state.nextCursor) params.set("cursor", state.nextCursor);
  try {
    const page = await (await api(`/documents?${params}`)).json();
    const body = $("#document-table tbody");
    const rows = page.items.map(documentRow);
    if (append) body.append(...rows); else body.replaceChildren(...rows);
    // Polling reloads the first page, which also drops pages added with "Load more": the list stays one
    // consistent keyset walk from the newest document.
    state.nextCursor = page.next_cursor;
    $("#more-button").hidden = !state.nextCursor;
    trackUploads(page.items);
  } catch (error) {
    if (error.status !== 401) show(`Could not load documents: ${error.message}`, true);
  }
}

// --- one document -------------------------------------------------------------------------------------
function renderInvoice(invoice) {
  const node = $("#invoice-template").content.firstElementChild.cloneNode(true);
  node.querySelector(".invoice-title").textContent =
    `Invoice ${invoice.invoice_number || "(no number)"}${invoice.vendor.name ? " from " + invoice.vendor.name : ""}`;
  const facts = node.querySelector(".invoice-facts");
  fact(facts, "Status", badge(invoice.validation_status));
  fact(facts, "Vendor", [invoice.vendor.name, invoice.vendor.address, invoice.vendor.tax_id].filter(Boolean).join(", "));
  fact(facts, "Customer", [invoice.customer.name, invoice.customer.address].filter(Boolean).join(", "));
  fact(facts, "Invoice date", invoice.invoice_date);
  fact(facts, "Due date", invoice.due_date);
  fact(facts, "PO number", invoice.po_number);
  const items = node.querySelector(".line-items tbody");
  for (const item of invoice.line_items) {
    const tr = el("tr");
    tr.append(el("td", item.position + 1), el("td", item.description), el("td", item.quantity, "num"),
      el("td", item.unit_price, "num"), el("td", item.amount, "num"));
    items.append(tr);
  }
  const totals = node.querySelector(".totals");
  const money = (value) => (value === null ? null : `${value} ${invoice.currency || ""}`.trim());
  fact(totals, "Subtotal", money(invoice.subtotal));
  fact(totals, "Tax", money(invoice.tax));
  fact(totals, "Discount", money(invoice.discount));
  fact(totals, "Total", money(invoice.total));
  fact(totals, "Amount due", money(invoice.amount_due));
  const totalCell = [...totals.querySelectorAll("dt")].find((dt) => dt.textContent === "Total");
  if (totalCell) totalCell.nextElementSibling.classList.add("invoice-total");
  const issues = node.querySelector(".issues");
  for (const issue of invoice.issues) {
    const li = el("li", null, `issue issue-${issue.severity || "info"}`);
    li.append(el("strong", issue.code), el("span", issue.message ? ` ${issue.message}` : ""));
    issues.append(li);
  }
  if (!invoice.issues.length) issues.append(el("li", "none"));
  const open = el("button", invoice.validation_status === "NEEDS_REVIEW" ? "Review" : "Open beside its page", "review-open");
  open.type = "button";
  open.addEventListener("click", () => state.review.open(invoice.id));
  node.querySelector(".invoice-title").append(" ", open);
  return node;
}

async function openDocument(id) {
  state.openId = id;
  await renderDocument(id);
  $("#detail").hidden = false;
  $("#detail").scrollIntoView({ block: "start" });
}

async function renderDocument(id) {
  try {
    const doc = await (await api(`/documents/${id}`)).json();
    if (state.openId !== id) return;
    const detail = $("#detail");
    detail.dataset.id = doc.id;
    detail.dataset.status = doc.status;
    $("#detail-title").textContent = doc.key.split("/").pop();
    const facts = $("#detail-facts");
    facts.replaceChildren();
    fact(facts, "Status", badge(doc.status));
    fact(facts, "Object", `s3://${doc.bucket}/${doc.key}`);
    fact(facts, "Type", doc.media_type);
    fact(facts, "Pages", doc.page_count);
    fact(facts, "Received", when(doc.created_at));
    fact(facts, "Updated", when(doc.updated_at));
    if (doc.execution_arn) {
      const link = el("a", doc.execution_arn.split(":").pop());
      link.href = doc.console_url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      fact(facts, "Execution", link);
    }
    if (doc.duplicate_of) fact(facts, "Duplicate of", doc.duplicate_of);
    const errorBox = $("#detail-error");
    errorBox.hidden = !doc.error;
    errorBox.textContent = doc.error ? `${doc.error.code}: ${doc.error.message || ""}` : "";
    const timeline = $("#timeline");
    timeline.replaceChildren(...doc.timeline.map((event) => {
      const li = el("li", `${when(event.at)}  ${event.from_status || "—"} → ${event.to_status}`);
      if (event.detail?.reprocess) li.append(el("span", " (reprocess)", "note"));
      if (event.detail?.error) li.append(el("span", ` ${event.detail.error}`, "error-code"));
      return li;
    }));
    $("#reprocess-button").disabled = !TERMINAL.has(doc.status) || doc.status === "DUPLICATE";
    const invoices = $("#invoices");
    if (doc.invoice_count > 0) {
      const body = await (await api(`/documents/${id}/invoice`)).json();
      if (state.openId === id) invoices.replaceChildren(...body.invoices.map(renderInvoice));
    } else {
      invoices.replaceChildren(el("p", TERMINAL.has(doc.status) ? "No invoice in this document." : "Processing…", "note"));
    }
  } catch (error) {
    if (error.status !== 401) show(`Could not load the document: ${error.message}`, true);
  }
}

async function reprocess() {
  const id = state.openId;
  if (!id) return;
  try {
    const accepted = await (await api(`/documents/${id}/reprocess`, { method: "POST" })).json();
    show(`Reprocessing started: ${accepted.execution_arn.split(":").pop()}`);
    await renderDocument(id);
  } catch (error) {
    if (error.status !== 401) show(`Could not reprocess: ${error.message}`, true);
  }
}

// --- exports ------------------------------------------------------------------------------------------
function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = el("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function exportInvoices(format) {
  const params = filterParams();
  params.set("format", format);
  try {
    // A big export answers 303 to S3; following it from script would need CORS on the bucket, so the
    // redirect is not followed: the export is asked for again as a link, and the browser navigates to it.
    let response = await api(`/invoices/export?${params}`, { redirect: "manual" });
    if (response.type === "opaqueredirect") {
      params.set("delivery", "link");
      response = await api(`/invoices/export?${params}`);
    }
    if ((response.headers.get("Content-Type") || "").startsWith("application/json")) {
      location.assign((await response.json()).url);
      return;
    }
    const disposition = response.headers.get("Content-Disposition") || "";
    const filename = /filename="([^"]+)"/.exec(disposition)?.[1] || `invoices.${format}`;
    download(await response.blob(), filename);
  } catch (error) {
    if (error.status !== 401) show(`Export failed: ${error.message}`, true);
  }
}

// --- the page -----------------------------------------------------------------------------------------
function stopPolling() {
  clearInterval(state.timer);
  state.timer = null;
}

function startPolling() {
  stopPolling();
  state.timer = setInterval(async () => {
    if (document.hidden || state.review.isOpen()) return;
    await refreshList();
    await state.review.refreshQueue();
    const detail = $("#detail");
    if (state.openId && !detail.hidden && !TERMINAL.has(detail.dataset.status)) await renderDocument(state.openId);
  }, POLL_MS);
}

function render() {
  const signedIn = Boolean(state.token);
  $("#signin").hidden = signedIn;
  $("#app").hidden = !signedIn;
  $("#session").hidden = !signedIn;
  const local = state.config.auth.mode === "local";
  $("#local-signin").hidden = !local;
  $("#cognito-signin").hidden = local;
  if (signedIn) {
    $("#who").textContent = tokenSubject(state.token);
    show("");
    refreshList();
    state.review.refreshQueue();
    startPolling();
  }
}

function wire() {
  $("#local-signin").addEventListener("submit", (event) => {
    event.preventDefault();
    setToken($("#token-input").value.trim());
    $("#token-input").value = "";
    render();
  });
  $("#cognito-button").addEventListener("click", () => cognitoRedirect());
  for (const provider of state.config.auth.identityProviders || []) {
    const button = el("button", `Sign in with ${provider}`);
    button.type = "button";
    button.addEventListener("click", () => cognitoRedirect(provider));
    $("#idp-buttons").append(button);
  }
  $("#signout-button").addEventListener("click", () => signOut());
  $("#file-input").addEventListener("change", (event) => {
    for (const file of event.target.files) uploadOne(file);
    event.target.value = "";
  });
  const zone = $("#dropzone");
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    for (const file of event.dataTransfer.files) uploadOne(file);
  });
  $("#filters").addEventListener("submit", (event) => { event.preventDefault(); refreshList(); });
  $("#more-button").addEventListener("click", () => refreshList(true));
  $("#export-csv").addEventListener("click", () => exportInvoices("csv"));
  $("#export-xlsx").addEventListener("click", () => exportInvoices("xlsx"));
  $("#close-detail").addEventListener("click", () => { state.openId = null; $("#detail").hidden = true; });
  $("#reprocess-button").addEventListener("click", reprocess);
  state.review = setupReview({ api, el, badge, show, when, onLeave: () => { $("#detail").hidden = !state.openId; } });
}

async function main() {
  state.config = await (await fetch("config.json", { cache: "no-store" })).json();
  state.config.apiBaseUrl = (state.config.apiBaseUrl || "").replace(/\/$/, "");
  wire();
  // Local mode: the server prints a link with the token in the fragment (never sent to any server).
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    setToken(fragment.get("token"));
    history.replaceState(null, "", location.pathname);
  } else {
    setToken(sessionStorage.getItem(TOKEN_KEY));
  }
  if (state.config.auth.mode === "cognito") await cognitoCallback();
  render();
  document.body.dataset.ready = "true";
}

main().catch((error) => show(`The page could not start: ${error.message}`, true));
