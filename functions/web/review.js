// The review queue and the review view of one invoice (issue 12), on the API's review routes: GET
// /invoices/review-queue, GET /invoices/{id} (ETag), claim on open and release on leave, PATCH with If-Match
// (validation runs again: its verdict shows after every save), approve, reject with a reason, and for a possible
// duplicate confirm or clear. The page image sits beside the fields (page_view.js). Keyboard first: Tab walks
// the fields and then every cell of the line items, Enter saves (header fields and cells alike, one PATCH),
// Escape undoes the field or cell; outside a field A approves, R rejects, N opens the next invoice, Q goes back
// to the queue. Everything from the API is rendered as text.

import { PageView, PdfViewerMissing } from "./page_view.js";

// The header fields a reviewer corrects, as PATCH /invoices/{id} takes them and provenance.fields names them.
export const FIELDS = [
  ["vendor.name", "Vendor"], ["vendor.tax_id", "Vendor tax id"], ["invoice_number", "Invoice number"],
  ["invoice_date", "Invoice date"], ["due_date", "Due date"], ["po_number", "PO number"], ["currency", "Currency"],
  ["subtotal", "Subtotal"], ["tax", "Tax"], ["discount", "Discount"], ["total", "Total"],
  ["amount_due", "Amount due"],
];
// A line item's cells, as PATCH /invoices/{id} takes them in `line_items` (api/review_models.py LineItemPatch).
export const LINE_FIELDS = [
  ["description", "Description"], ["product_code", "Code"], ["quantity", "Qty"], ["unit_price", "Unit price"],
  ["amount", "Amount"],
];
const AMOUNTS = new Set(["subtotal", "tax", "discount", "total", "amount_due", "quantity", "unit_price", "amount"]);
// The path of a line item's cell, as the audit names it: line_items[position].name.
const LINE_PATH = /^line_items\[(\d+)\]\.(\w+)$/;
const EDITABLE = "#review-fields input, #review-lines input";
const DATES = new Set(["invoice_date", "due_date"]);
const CLAIM_HELD = "CLAIMED_BY_OTHER";

export function linePath(position, name) {
  return `line_items[${position}].${name}`;
}

/** The value of a field path ("vendor.name") in an invoice of the API. */
export function valueOf(invoice, path) {
  const line = LINE_PATH.exec(path);
  if (line) return invoice.line_items.find((item) => item.position === Number(line[1]))?.[line[2]] ?? null;
  return path.split(".").reduce((node, key) => (node == null ? null : node[key]), invoice) ?? null;
}

/** The PATCH body for the fields whose text differs from the invoice's ("" clears a field); a line item's
 * cells go into `line_items`, one entry per line with its position. */
export function patchFor(invoice, edits) {
  const body = {};
  const lines = new Map();
  for (const [path, text] of Object.entries(edits)) {
    const value = text.trim() === "" ? null : text.trim();
    if (value === (valueOf(invoice, path) ?? null)) continue;
    const line = LINE_PATH.exec(path);
    if (line) {
      const position = Number(line[1]);
      if (!lines.has(position)) lines.set(position, { position });
      lines.get(position)[line[2]] = value;
      continue;
    }
    const [group, name] = path.split(".");
    if (name) (body[group] ||= {})[name] = value; else body[path] = value;
  }
  if (lines.size) body.line_items = [...lines.values()];
  return body;
}

/** "3 min", "5 h", "2 d": how long an invoice has waited. */
export function age(iso, now = Date.now()) {
  const minutes = Math.max(0, Math.round((now - new Date(iso).getTime()) / 60000));
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)} h`;
  return `${Math.round(minutes / 1440)} d`;
}

/** What a refused review call means to the person, in words, and whether reloading is the way out. */
export function explain(error) {
  const reload = true;
  switch (error.code) {
    case "PRECONDITION_FAILED":
      return { text: "Someone changed this invoice after you opened it. Reload to see the current version; your unsaved edit is kept in the field until you do.", reload };
    case CLAIM_HELD:
      return { text: `Someone else is reviewing this invoice (${error.message}). You can read it; reload when they are done.`, reload };
    case "CLAIM_REQUIRED":
      return { text: "Your claim on this invoice has expired. Reload to claim it again.", reload };
    case "ALREADY_DECIDED":
      return { text: "This invoice has already been decided: nothing can change it now.", reload };
    case "NOT_APPROVABLE":
      return { text: "Validation still finds an error: correct the fields marked below before approving." };
    case "SECOND_APPROVER_REQUIRED":
      return { text: "You corrected this invoice yourself: a second reviewer has to approve it." };
    case "FORBIDDEN":
      return { text: "You can read invoices but not change them (ask to be added to the reviewers group)." };
    default:
      return { text: `${error.message || "The request failed"} (${error.code || error.status}).`, reload: error.status >= 500 };
  }
}

export function setupReview({ api, el, badge, show, when, onLeave }) {
  const $ = (selector) => document.querySelector(selector);
  const view = new PageView($("#page-view"));
  const r = { queue: [], id: null, body: null, etag: null, claimed: false, readOnly: false, busy: false };

  // --- the queue ------------------------------------------------------------------------------------------
  function queueRow(item) {
    const tr = el("tr");
    tr.dataset.id = item.invoice_id;
    tr.dataset.status = item.status;
    tr.tabIndex = 0;
    const reasons = el("td", null, "reasons");
    for (const code of item.reasons) reasons.append(el("span", code, code === "POSSIBLE_DUPLICATE" ? "tag tag-dup" : "tag"));
    const total = item.total ? `${item.total} ${item.currency || ""}`.trim() : "—";
    const claim = item.claim ? el("td", item.claim.by, "claimed") : el("td", "—", "note");
    if (item.claim) claim.title = `claimed until ${when(item.claim.expires_at)}`;
    const file = el("td", item.file, "file");
    tr.append(el("td", item.vendor_name || "—"), el("td", item.invoice_number || "—"), el("td", total, "num"),
      reasons, el("td", age(item.received_at), "num"), claim, file);
    tr.title = `received ${when(item.received_at)}`;
    tr.addEventListener("click", () => open(item.invoice_id));
    tr.addEventListener("keydown", (event) => { if (event.key === "Enter") open(item.invoice_id); });
    return tr;
  }

  async function refreshQueue() {
    try {
      const body = await (await api("/invoices/review-queue")).json();
      r.queue = body.items;
      const rows = body.items.map(queueRow);
      const focused = document.activeElement?.closest?.("#queue-table tr")?.dataset.id;
      $("#queue-table tbody").replaceChildren(...rows);
      if (focused) $(`#queue-table tr[data-id="${focused}"]`)?.focus();
      $("#queue-count").textContent = String(body.items.length);
      $("#queue-empty").hidden = body.items.length > 0;
      $("#queue-table").hidden = body.items.length === 0;
    } catch (error) {
      if (error.status !== 401) show(`Could not load the review queue: ${error.message}`, true);
    }
  }

  // --- the messages of the view ---------------------------------------------------------------------------
  function say(text, kind = "info", reload = false) {
    const box = $("#review-message");
    box.className = `review-message ${kind}`;
    box.hidden = !text;
    $("#review-message-text").textContent = text || "";
    $("#review-reload").hidden = !reload;
  }

  function refused(error) {
    if (error.status === 401) return;
    const { text, reload } = explain(error);
    say(text, "error", Boolean(reload));
    if (error.code === "FORBIDDEN") setReadOnly(true);
  }

  // --- one invoice ----------------------------------------------------------------------------------------
  async function load(id) {
    const response = await api(`/invoices/${id}`);
    r.etag = response.headers.get("ETag");
    r.body = await response.json();
  }

  async function claim() {
    try {
      const response = await api(`/invoices/${r.id}/claim`, { method: "POST" });
      r.etag = response.headers.get("ETag");
      r.body = await response.json();
      r.claimed = true;
      return null;
    } catch (error) {
      if (error.status === 401) throw error;
      return error;
    }
  }

  async function open(id) {
    if (r.id && r.id !== id) await leave({ keepView: true });
    r.id = id;
    r.claimed = false;
    say("");
    show("");
    $("#review").hidden = false;
    for (const section of ["#queue", "#upload", "#documents", "#detail"]) $(section).hidden = true;
    $("#review-title").textContent = "Loading…";
    try {
      await load(id);
    } catch (error) {
      if (error.status !== 401) say(`Could not open the invoice: ${error.message}`, "error", true);
      return;
    }
    const decided = Boolean(r.body.decision);
    const problem = decided ? null : await claim();
    setReadOnly(decided || Boolean(problem));
    renderInvoice();
    if (problem) refused(problem);
    else if (decided) say(`${r.body.decision.status} by ${r.body.decision.by} on ${when(r.body.decision.at)}${r.body.decision.reason ? `: ${r.body.decision.reason}` : ""}.`);
    showPage();
    focusFirst();
  }

  async function showPage() {
    const docId = r.body.document_id;
    try {
      const content = await (await api(`/documents/${docId}/content`)).json();
      if (r.body?.document_id !== docId) return;
      await view.open(content.url, content.media_type);
      highlight(document.activeElement?.dataset?.field);
    } catch (error) {
      if (error instanceof PdfViewerMissing) view.message(error.message);
      else if (error.status !== 401) view.message(`The page image could not be shown: ${error.message}`);
    }
  }

  function highlight(path) {
    const line = path ? LINE_PATH.exec(path) : null;
    if (line) return highlightLine(Number(line[1]));
    const source = path ? r.body?.invoice.provenance?.fields?.[path] : null;
    view.highlight(source || null);
    $("#page-source").textContent = source?.raw ? `the engine read “${source.raw}”${source.label ? ` next to “${source.label}”` : ""}` : "";
  }

  // No bounding box is stored for a line item (provenance.fields names header fields only; a line keeps just its
  // page): turn to that page, draw no box, and say so.
  function highlightLine(position) {
    const item = r.body?.invoice.line_items.find((i) => i.position === position);
    view.highlight(null);
    if (item?.page && item.page !== view.page) view.show(item.page);
    $("#page-source").textContent = `line ${position + 1}${item?.page ? ` was read on page ${item.page}` : ""}: ` +
      "no box is stored for line items";
  }

  function fieldIssues(invoice) {
    const byField = new Map();
    for (const issue of invoice.issues) {
      if (issue.field) byField.set(issue.field, [...(byField.get(issue.field) || []), issue]);
    }
    return byField;
  }

  function renderInvoice() {
    const { invoice } = r.body;
    $("#review-title").textContent =
      `${invoice.vendor.name || "Unknown vendor"} · ${invoice.invoice_number || "no number"}`;
    $("#review-status").replaceChildren(badge(invoice.validation_status));
    const claimText = r.body.claim ? `claimed by ${r.body.claim.by} until ${new Date(r.body.claim.expires_at).toLocaleTimeString()}` : "";
    $("#review-claim").textContent = claimText;
    const duplicate = invoice.issues.some((i) => i.code === "POSSIBLE_DUPLICATE");
    $("#confirm-duplicate").hidden = !duplicate;
    $("#clear-duplicate").hidden = !duplicate;
    $("#review-duplicate").hidden = !duplicate || !invoice.duplicate_of;
    if (duplicate && invoice.duplicate_of) {
      $("#review-duplicate").textContent = `Possibly a duplicate of invoice ${invoice.duplicate_of.invoice_id} ` +
        `(${invoice.duplicate_of.tier} match).`;
    }
    const byField = fieldIssues(invoice);
    const form = $("#review-fields");
    const rows = FIELDS.map(([path, label]) => {
      const id = `field-${path.replace(".", "-")}`;
      const row = el("div", null, "field");
      const labelNode = el("label", label);
      labelNode.htmlFor = id;
      const input = editable(path, valueOf(invoice, path), AMOUNTS.has(path));
      input.id = id;
      if (DATES.has(path)) input.placeholder = "YYYY-MM-DD";
      const problems = byField.get(path) || [];
      const errors = problems.filter((i) => i.severity === "error");
      const conf = invoice.confidence?.[path];
      const hint = el("span", problems.map((i) => i.code).join(", ") || (conf !== undefined ? `${Math.round(conf * 100)} %` : ""),
        errors.length ? "hint bad" : problems.length ? "hint warn" : "hint");
      hint.id = `${id}-hint`;
      if (conf !== undefined) hint.title = `the engine's confidence: ${Math.round(conf * 100)} %`;
      if (errors.length) { row.classList.add("invalid"); input.setAttribute("aria-invalid", "true"); }
      input.setAttribute("aria-describedby", hint.id);
      row.append(labelNode, input, hint);
      return row;
    });
    form.replaceChildren(...rows);
    renderIssues(invoice);
    renderLines(invoice);
    syncButtons();
  }

  /** An input for a header field or a line item's cell: its saved text kept to undo (Escape) and to diff. */
  function editable(path, value, amount) {
    const input = el("input");
    input.name = path;
    input.dataset.field = path;
    input.value = (value ?? "").replace(/\s*\n\s*/g, " "); // one line; sent back only if the reviewer edits it
    input.dataset.saved = input.value;
    input.autocomplete = "off";
    input.spellcheck = false;
    if (amount) { input.inputMode = "decimal"; input.classList.add("num"); }
    input.readOnly = r.readOnly;
    return input;
  }

  function renderIssues(invoice) {
    const list = $("#review-issues");
    const errors = invoice.issues.filter((i) => i.severity === "error");
    $("#review-verdict").textContent = errors.length
      ? `Validation: ${errors.length} error${errors.length > 1 ? "s" : ""}`
      : "Validation passes";
    $("#review-verdict").className = errors.length ? "verdict bad" : "verdict ok";
    list.replaceChildren(...invoice.issues.map((issue) => {
      const li = el("li", null, `issue issue-${issue.severity || "info"}`);
      li.append(el("strong", issue.code), el("span", issue.message ? ` ${issue.message}` : ""));
      return li;
    }));
  }

  function renderLines(invoice) {
    const table = $("#review-lines");
    const errors = invoice.issues.filter((i) => i.field === "line_items" && i.severity === "error");
    table.classList.toggle("invalid", errors.length > 0);
    $("#review-lines caption .hint").textContent = errors.map((i) => i.code).join(", ");
    table.querySelector("tbody").replaceChildren(...invoice.line_items.map((item) => {
      const tr = el("tr");
      const cells = LINE_FIELDS.map(([name, label]) => {
        const input = editable(linePath(item.position, name), item[name], AMOUNTS.has(name));
        input.setAttribute("aria-label", `line ${item.position + 1}, ${label.toLowerCase()}`);
        input.title = input.value; // the whole text where the cell is too narrow for it
        const td = el("td");
        td.append(input);
        return td;
      });
      tr.append(el("td", item.position + 1, "pos"), ...cells);
      return tr;
    }));
    table.hidden = invoice.line_items.length === 0;
  }

  function setReadOnly(readOnly) {
    r.readOnly = readOnly;
    for (const input of document.querySelectorAll(EDITABLE)) input.readOnly = readOnly;
    $("#review").classList.toggle("read-only", readOnly);
    syncButtons();
  }

  function syncButtons() {
    for (const id of ["#approve", "#reject", "#confirm-duplicate", "#clear-duplicate"]) $(id).disabled = r.readOnly || r.busy;
    const errors = r.body?.invoice.issues.some((i) => i.severity === "error");
    $("#approve").title = errors ? "validation still finds an error" : "ready for payment once approved";
  }

  function focusFirst() {
    const invalid = $("#review-fields .invalid input");
    (invalid || $("#review-fields input"))?.focus();
  }

  // --- changes --------------------------------------------------------------------------------------------
  async function save(input) {
    if (r.readOnly || r.busy) return;
    const edits = {};
    for (const field of document.querySelectorAll(EDITABLE)) {
      if (field.value !== field.dataset.saved) edits[field.dataset.field] = field.value;
    }
    const body = patchFor(r.body.invoice, edits);
    if (!Object.keys(body).length) { say("Nothing changed."); return; }
    r.busy = true;
    say("Saving…");
    try {
      const response = await api(`/invoices/${r.id}`, {
        method: "PATCH", headers: { "Content-Type": "application/json", "If-Match": r.etag }, body: JSON.stringify(body),
      });
      r.etag = response.headers.get("ETag");
      r.body = await response.json();
      const path = input?.dataset.field;
      r.busy = false; // before rendering: a disabled Approve button cannot take the focus
      renderInvoice();
      const errors = r.body.invoice.issues.filter((i) => i.severity === "error");
      say(errors.length ? `Saved. Validation still finds ${errors.map((i) => i.code).join(", ")}.`
        : "Saved. Validation passes: the invoice can be approved (A).", errors.length ? "warn" : "ok");
      const saved = [...document.querySelectorAll(EDITABLE)].find((field) => field.dataset.field === path);
      if (errors.length) (document.querySelector("#review-fields .invalid input") || saved)?.focus();
      else $("#approve").focus();
    } catch (error) {
      refused(error);
    } finally {
      r.busy = false;
      syncButtons();
    }
  }

  async function decide(path, body, done) {
    if (r.readOnly || r.busy) return;
    r.busy = true;
    syncButtons();
    try {
      const response = await api(`/invoices/${r.id}/${path}`, {
        method: "POST", headers: { "If-Match": r.etag, ...(body ? { "Content-Type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      r.etag = response.headers.get("ETag");
      r.body = await response.json();
      if (path === "clear-duplicate") {
        renderInvoice();
        say("Not a duplicate: the hold is lifted.", "ok");
        focusFirst();
      } else {
        r.claimed = false; // a decision ends the claim
        const decidedId = r.id;
        await refreshQueue();
        show(done);
        await next(decidedId);
      }
    } catch (error) {
      refused(error);
    } finally {
      r.busy = false;
      syncButtons();
    }
  }

  function approve() {
    decide("approve", null, `Approved: ${describe()} is ready for payment.`);
  }

  function describe() {
    const inv = r.body.invoice;
    return `invoice ${inv.invoice_number || r.id} from ${inv.vendor.name || "an unknown vendor"}`;
  }

  function askReject(duplicate) {
    if (r.readOnly) return;
    const dialog = $("#reject-dialog");
    $("#reject-duplicate").checked = duplicate;
    $("#reject-duplicate-row").hidden = !r.body.invoice.issues.some((i) => i.code === "POSSIBLE_DUPLICATE");
    const reason = $("#reject-reason");
    reason.value = duplicate ? "Duplicate of an invoice already received" : "";
    dialog.showModal();
    reason.focus();
    reason.select();
  }

  // --- leaving ------------------------------------------------------------------------------------------
  async function release() {
    if (!r.claimed || !r.id) return;
    r.claimed = false;
    try { await api(`/invoices/${r.id}/release`, { method: "POST" }); } catch { /* it expires by itself */ }
  }

  async function leave({ keepView = false } = {}) {
    await release();
    r.id = null;
    r.body = null;
    view.clear();
    if (!keepView) {
      $("#review").hidden = true;
      for (const section of ["#queue", "#upload", "#documents"]) $(section).hidden = false;
      onLeave?.();
      await refreshQueue();
      ($("#queue-table tbody tr") || $("#queue h2"))?.focus();
    }
  }

  async function next(after = r.id) {
    const waiting = r.queue.filter((item) => item.invoice_id !== after && !item.claim);
    const index = r.queue.findIndex((item) => item.invoice_id === after);
    const following = waiting.find((item) => r.queue.indexOf(item) > index) || waiting[0];
    if (following) await open(following.invoice_id);
    else { await leave(); show("The review queue is empty."); }
  }

  // --- keys ---------------------------------------------------------------------------------------------
  function typing(target) {
    return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  }

  function onKey(event) {
    if ($("#review").hidden || $("#reject-dialog").open || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof HTMLInputElement && target.matches(EDITABLE)) {
      if (event.key === "Enter") { event.preventDefault(); save(target); }
      if (event.key === "Escape") {
        event.preventDefault();
        if (target.value !== target.dataset.saved) { target.value = target.dataset.saved; say("Change undone."); }
        else target.blur();
      }
      return;
    }
    if (typing(target)) return;
    const key = event.key.toLowerCase();
    const actions = { a: approve, r: () => askReject(false), n: () => next(), q: () => leave(), escape: () => leave() };
    if (actions[key]) { event.preventDefault(); actions[key](); }
  }

  // --- wiring -------------------------------------------------------------------------------------------
  $("#review-fields").addEventListener("focusin", (event) => highlight(event.target.dataset?.field));
  $("#review-lines").addEventListener("focusin", (event) => highlight(event.target.dataset?.field));
  $("#review-fields").addEventListener("submit", (event) => event.preventDefault());
  document.addEventListener("keydown", onKey);
  $("#approve").addEventListener("click", approve);
  $("#reject").addEventListener("click", () => askReject(false));
  $("#confirm-duplicate").addEventListener("click", () => askReject(true));
  $("#clear-duplicate").addEventListener("click", () => decide("clear-duplicate"));
  $("#next-invoice").addEventListener("click", () => next());
  $("#back-to-queue").addEventListener("click", () => leave());
  $("#review-reload").addEventListener("click", () => open(r.id));
  $("#page-prev").addEventListener("click", () => view.show(view.page - 1));
  $("#page-next").addEventListener("click", () => view.show(view.page + 1));
  $("#reject-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = $("#reject-reason").value.trim();
    if (!reason) { $("#reject-reason").focus(); return; }
    const duplicate = $("#reject-duplicate").checked && !$("#reject-duplicate-row").hidden;
    $("#reject-dialog").close();
    decide("reject", { reason, duplicate }, `Rejected: ${describe()}${duplicate ? " (duplicate)" : ""}.`);
  });
  $("#reject-cancel").addEventListener("click", () => { $("#reject-dialog").close(); $("#reject").focus(); });
  // Leaving the page releases the claim (keepalive: the request outlives the page).
  window.addEventListener("pagehide", () => {
    if (r.claimed && r.id) api(`/invoices/${r.id}/release`, { method: "POST", keepalive: true }).catch(() => {});
  });

  return { refreshQueue, open, leave, isOpen: () => Boolean(r.id) };
}
