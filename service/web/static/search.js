// Search as you type on the search page. The server-rendered form and results work without this
// file; with it, the input becomes an ARIA combobox whose popup is a grid of results (a grid, not
// a listbox, because each result holds a link and a "Copy with citation" button).
//
// Corpus text only ever reaches the page as text nodes: the API's snippet (HTML-escaped, with only
// our <mark> tags) is split on those tags and rebuilt node by node, never assigned as HTML; the
// answering sentence (plain text) is found in it and wrapped in a <span class="answer">.
"use strict";

(() => {
  const PAGE_SIZE = 10;
  const DEBOUNCE_MS = 150;
  // Once typing pauses this long, the question is asked whole: the hybrid ranking and the meaning
  // tests (care advice, emergencies) need finished words.
  const SETTLE_MS = 700;
  const form = document.getElementById("search-form");
  const input = document.getElementById("q");
  const area = document.getElementById("results");
  const status = document.getElementById("search-status");
  // Every article, rendered by the server in an inert <template>: shown when nothing answers.
  const TOPICS = document.getElementById("topics-template");
  if (!form || !input || !area || !status) return;
  // The service's public address (HEALTHFAQ_PUBLIC_URL), for links pasted elsewhere; "" = this page's.
  const PUBLIC_URL = form.dataset.publicUrl || "";
  // Small screens show care advice folded to its heading, so the answers fit on the first screen.
  const WIDE = window.matchMedia("(min-width: 40rem)");

  document.documentElement.classList.add("js");
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-haspopup", "grid");
  input.setAttribute("aria-controls", "result-list");
  input.setAttribute("aria-expanded", "false");

  let timer = 0;
  let settle = 0; // the whole-question search after a pause; any key other than typing cancels it
  let inFlight = null;
  let active = -1;
  let state = null; // {q, prefix, total, shown}

  // --- Rendering ------------------------------------------------------------------------------

  const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };
  const unescape = (text) => text.replace(/&(?:amp|lt|gt|quot|#x27|#39);/g, (e) => ENTITIES[e]);

  // The snippet as [plain text, marked] runs: our <mark> tags read, entities decoded.
  function snippetRuns(snippet) {
    const runs = [];
    let marked = false;
    for (const part of snippet.split(/(<mark>|<\/mark>)/)) {
      if (part === "<mark>") marked = true;
      else if (part === "</mark>") marked = false;
      else if (part) runs.push([unescape(part), marked]);
    }
    return runs;
  }

  // Text nodes and <mark>s for the plain characters start..end of the runs.
  function runNodes(runs, start, end) {
    const out = document.createDocumentFragment();
    let at = 0;
    for (const [text, marked] of runs) {
      const piece = text.slice(Math.max(start - at, 0), Math.max(end - at, 0));
      at += text.length;
      if (piece) out.append(marked ? el("mark", {}, piece) : document.createTextNode(piece));
    }
    return out;
  }

  // The snippet with the answering sentence (plain text) in <span class="answer">, when the
  // snippet holds it whole; otherwise the snippet as it is.
  function snippetNodes(snippet, answer) {
    const runs = snippetRuns(snippet);
    const plain = runs.map(([text]) => text).join("");
    const sentence = answer && answer.text ? answer.text : "";
    const found = sentence ? plain.indexOf(sentence) : -1;
    if (found < 0) return runNodes(runs, 0, plain.length);
    const end = found + sentence.length;
    const out = document.createDocumentFragment();
    out.append(runNodes(runs, 0, found), el("span", { class: "answer" }, runNodes(runs, found, end)),
      runNodes(runs, end, plain.length));
    return out;
  }

  // Only web addresses and our own paths become links; anything else (javascript:, data:) is
  // replaced by this service's page for the article.
  function safeLink(url, slug) {
    if (typeof url === "string" && /^(https?:\/\/|\/(?!\/))/i.test(url)) return url;
    const hash = typeof url === "string" && url.includes("#") ? url.slice(url.lastIndexOf("#")) : "";
    return "/articles/" + encodeURIComponent(slug) + hash;
  }

  // A link to one of our article pages carries the question, so its "back" link returns to these
  // results. Other sites' links never get it: the question is health data.
  function withQuestion(href, q) {
    const ours = href.startsWith("/articles/") || (PUBLIC_URL && href.startsWith(PUBLIC_URL + "/articles/"));
    if (!ours || !q.trim()) return href;
    const at = href.indexOf("#");
    const [path, hash] = at < 0 ? [href, ""] : [href.slice(0, at), href.slice(at)];
    return path + "?q=" + encodeURIComponent(q) + hash;
  }

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    node.append(...children);
    return node;
  }

  function resultRow(result, number, q) {
    const href = safeLink(result.url, result.article.slug);
    const copy = el("button", { type: "button", class: "copy", onclick: () => copyCitation(result, href, copy) },
      "Copy with citation");
    const cell = el("div", { role: "gridcell", id: "result-" + number, class: "result-cell", "aria-selected": "false" },
      el("a", { class: "result-link", href: withQuestion(href, q) },
        el("span", { class: "result-title" }, result.article.title), " ",
        el("span", { class: "result-section" }, result.section)),
      el("p", { class: "snippet" }, snippetNodes(result.snippet, result.answer)),
      copy);
    cell.addEventListener("mousemove", () => setActive(number, false));
    return el("div", { role: "row", class: "result" }, cell);
  }

  // An emergency notice comes before everything else, and is announced (role="alert").
  function urgentBlock(urgent) {
    return el("div", { class: "urgent", role: "alert" },
      el("p", { class: "urgent-title" }, urgent.title),
      el("p", { class: "urgent-message" },
        urgent.lead ? el("strong", { class: "urgent-lead" }, urgent.lead) : "", urgent.lead ? " " : "", urgent.message),
      el("p", { class: "urgent-source" }, "Source: " + urgent.source));
  }

  function careBlock(care, q) {
    const aside = el("aside", { class: "care", "aria-label": "When to see a doctor" });
    for (const c of care) {
      const item = el("details", { class: "care-item" },
        el("summary", {}, el("span", { class: "care-heading" }, c.section), " ",
          el("span", { class: "care-from" }, c.article.title)),
        el("p", { class: "care-text" }, c.text),
        el("p", { class: "care-source" },
          el("a", { href: withQuestion(safeLink(c.url, c.article.slug), q) }, c.article.title + " — " + c.section)));
      item.open = WIDE.matches;
      aside.append(item);
    }
    return aside;
  }

  // Articles close to the question, which no passage answers directly: set apart from the answers.
  function relatedBlock(related, q) {
    return el("section", { class: "related", "aria-labelledby": "related-heading" },
      el("h2", { id: "related-heading", class: "related-heading" }, "Related articles"),
      el("p", { class: "related-note" }, "These articles are close to what you asked but are not a direct answer."),
      el("ul", { class: "related-list" }, ...related.map((a) => el("li", {},
        el("a", { class: "related-link", href: withQuestion(safeLink(a.url, a.slug), q) }, a.title)))));
  }

  function render(data, append) {
    if (!append) {
      area.replaceChildren();
      active = -1;
      input.removeAttribute("aria-activedescendant");
      if (data.urgent) area.append(urgentBlock(data.urgent));
      if (data.did_you_mean) {
        const link = el("a", { href: "/?q=" + encodeURIComponent(data.did_you_mean) }, data.did_you_mean);
        link.addEventListener("click", (event) => {
          event.preventDefault();
          input.value = data.did_you_mean;
          input.focus();
          runSearch(false);
        });
        area.append(el("p", { class: "did-you-mean" }, "Did you mean ", link, "?"));
      }
      if (data.care_advice && data.care_advice.length) area.append(careBlock(data.care_advice, state.q));
      area.append(el("div", { id: "result-list", role: "grid", class: "results", "aria-label": "Search results" }));
    }
    const list = document.getElementById("result-list");
    const start = append ? state.shown : 0;
    data.results.forEach((result, i) => list.append(resultRow(result, start + i, state.q)));
    state.shown = start + data.results.length;
    state.total = data.total;
    list.hidden = state.shown === 0;
    input.setAttribute("aria-expanded", String(state.shown > 0));

    area.querySelector(".load-more")?.remove();
    if (state.shown === 0) {
      area.append(el("div", { class: "empty" }, el("p", {}, "No passage answers “" + data.query + "”.")));
    } else if (state.shown < state.total) {
      list.after(el("button", { type: "button", class: "load-more", onclick: loadMore }, "Load more results"));
    }
    // After the answers, or instead of them: articles close in meaning, else every topic to browse.
    const related = data.related || [];
    if (!append && related.length) area.append(relatedBlock(related, state.q));
    else if (!append && state.shown === 0 && TOPICS) area.append(TOPICS.content.cloneNode(true));
    const plural = data.total === 1 ? "" : "s";
    status.textContent = `${data.total} result${plural} in ${data.took_ms.toFixed(1)} ms`;
  }

  function clearResults() {
    area.replaceChildren();
    status.textContent = "";
    state = null;
    active = -1;
    input.removeAttribute("aria-activedescendant");
    input.setAttribute("aria-expanded", "false");
  }

  // --- Requests -------------------------------------------------------------------------------

  async function fetchResults(q, prefix, offset) {
    if (inFlight) inFlight.abort(); // a newer keystroke makes the older answer useless
    inFlight = new AbortController();
    const params = new URLSearchParams({ q, limit: String(PAGE_SIZE), offset: String(offset) });
    if (prefix) params.set("prefix", "true");
    const response = await fetch("/search?" + params, { signal: inFlight.signal, headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error ? body.error.message : "search failed");
    return body;
  }

  async function runSearch(prefix) {
    const q = input.value;
    window.clearTimeout(timer);
    if (!q.trim()) {
      if (inFlight) inFlight.abort();
      clearResults();
      history.replaceState(null, "", "/");
      return;
    }
    try {
      const data = await fetchResults(q, prefix, 0);
      state = { q, prefix, total: 0, shown: 0 };
      render(data, false);
      history.replaceState(null, "", "/?q=" + encodeURIComponent(q));
    } catch (error) {
      if (error.name !== "AbortError") status.textContent = "Search failed: " + error.message;
    }
  }

  async function loadMore() {
    if (!state) return;
    try {
      const data = await fetchResults(state.q, state.prefix, state.shown);
      const first = state.shown;
      render(data, true);
      document.querySelector(`#result-${first} .result-link`)?.focus();
    } catch (error) {
      if (error.name !== "AbortError") status.textContent = "Search failed: " + error.message;
    }
  }

  // --- Copy with citation ---------------------------------------------------------------------

  async function copyCitation(result, href, button) {
    // The citation's link never carries the question: it is pasted to a patient.
    const link = PUBLIC_URL && href.startsWith("/") ? PUBLIC_URL + href : new URL(href, window.location.href).href;
    const text = `${result.text}\n\n— ${result.article.title}, ${result.section}: ${link}`;
    let copied = false;
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch {
      copied = copyWithSelection(text); // no clipboard API (plain http, older browsers)
    }
    button.textContent = copied ? "Copied" : "Copy failed";
    status.textContent = copied ? "Passage and citation copied" : "Could not copy; select the text instead";
    window.setTimeout(() => { button.textContent = "Copy with citation"; }, 2000);
  }

  function copyWithSelection(text) {
    const area = el("textarea", { class: "offscreen", readonly: "", "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch { ok = false; }
    area.remove();
    return ok;
  }

  // --- Keyboard -------------------------------------------------------------------------------

  function setActive(index, scroll = true) {
    const cells = area.querySelectorAll('[role="gridcell"]');
    cells.forEach((cell) => { cell.classList.remove("active"); cell.setAttribute("aria-selected", "false"); });
    active = Math.max(-1, Math.min(index, cells.length - 1));
    if (active < 0) {
      input.removeAttribute("aria-activedescendant");
      return;
    }
    const cell = cells[active];
    cell.classList.add("active");
    cell.setAttribute("aria-selected", "true");
    input.setAttribute("aria-activedescendant", cell.id);
    if (scroll) cell.scrollIntoView({ block: "nearest" });
  }

  input.addEventListener("keydown", (event) => {
    if (event.key.length > 1 && event.key !== "Backspace" && event.key !== "Delete") window.clearTimeout(settle);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!state || state.shown === 0) return;
      event.preventDefault();
      setActive(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter") {
      event.preventDefault();
      const link = active >= 0 ? document.querySelector(`#result-${active} .result-link`) : null;
      if (link) window.location.assign(link.href);
      else runSearch(false);
    } else if (event.key === "Escape") {
      event.preventDefault();
      input.value = "";
      runSearch(false);
    }
  });

  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    window.clearTimeout(settle);
    timer = window.setTimeout(() => runSearch(true), DEBOUNCE_MS);
    settle = window.setTimeout(() => runSearch(false), SETTLE_MS);
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    runSearch(false);
  });

  // A shared URL (/?q=...) was rendered by the server; when it found passages, take them over so
  // the keys and "Copy with citation" work (an empty answer needs nothing, and is not asked twice).
  const shared = new URLSearchParams(window.location.search);
  if (!WIDE.matches) area.querySelectorAll("details.care-item").forEach((item) => { item.open = false; });
  if (input.value.trim() && !shared.has("offset") && area.querySelector("ol.results")) runSearch(false);
})();
