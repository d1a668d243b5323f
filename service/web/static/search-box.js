// Embeddable search box. A website adds:
//   <script src="https://SERVICE/static/search-box.js" defer></script>
//   <div data-healthfaq-search></div>
// and gets a search box with suggestions and results from this service. The service must list the
// website's origin in HEALTHFAQ_CORS_ORIGINS, or the browser will not let the box read answers.
//
// The box lives in a shadow root so the host page's CSS and ours never mix. All corpus text is
// inserted as text nodes; snippets are rebuilt from their <mark> tags, never assigned as HTML, and
// the answering sentence (plain text) is found in them and wrapped in a <span class="answer">.
"use strict";

(() => {
  const script = document.currentScript;
  if (!script || !script.src) return;
  // The service root is the folder above /static/, so a service behind a path prefix works too.
  const SERVICE = new URL("../", script.src);
  const DEBOUNCE_MS = 150;
  const SETTLE_MS = 700; // a pause: ask the whole question (hybrid ranking, emergency notices)
  const RESULTS = 5;
  let boxes = 0;

  const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };
  const unescape = (text) => text.replace(/&(?:amp|lt|gt|quot|#x27|#39);/g, (e) => ENTITIES[e]);

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
  // snippet holds it whole; otherwise the snippet as it is (as while a word is being typed).
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

  // Links point at the service (relative paths) or the publisher (http/https); nothing else.
  function link(url, slug) {
    if (typeof url === "string" && /^https?:\/\//i.test(url)) return url;
    if (typeof url === "string" && /^\/(?!\/)/.test(url)) return new URL(url.slice(1), SERVICE).href;
    const hash = typeof url === "string" && url.includes("#") ? url.slice(url.lastIndexOf("#")) : "";
    return new URL("articles/" + encodeURIComponent(slug) + hash, SERVICE).href;
  }

  // Articles close to the question that no passage answers directly: labelled so, after the answers.
  function relatedBlock(related) {
    return el("section", { class: "related", "aria-label": "Related articles" },
      el("p", { class: "related-title" }, "Related articles"),
      el("p", { class: "related-note" }, "Close to what you asked but not a direct answer."),
      el("ul", { class: "related-list" }, ...related.map((a) => el("li", {},
        el("a", { class: "related-link", href: link(a.url, a.slug) }, a.title)))));
  }

  async function getJSON(path, params, controller) {
    const response = await fetch(new URL(path + "?" + new URLSearchParams(params), SERVICE),
      { signal: controller.signal, mode: "cors", credentials: "omit" });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error ? body.error.message : "request failed");
    return body;
  }

  function mount(host) {
    if (host.shadowRoot) return;
    const n = ++boxes;
    const root = host.attachShadow({ mode: "open" });
    root.append(el("link", { rel: "stylesheet", href: new URL("static/search-box.css", SERVICE).href }));

    const input = el("input", {
      id: "q", type: "search", autocomplete: "off", maxlength: "200", role: "combobox",
      "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": "suggestions",
      placeholder: host.dataset.placeholder || "e.g. belly button pain",
    });
    const list = el("ul", { id: "suggestions", role: "listbox", class: "suggestions", "aria-label": "Suggestions" });
    list.hidden = true;
    const status = el("p", { class: "status", role: "status" });
    const results = el("div", { class: "results" });
    const form = el("form", { class: "form", role: "search", "aria-label": host.dataset.label || "Health articles" },
      el("label", { for: "q", class: "label" }, host.dataset.label || "Search health articles"),
      el("div", { class: "row" }, input, el("button", { type: "submit" }, "Search")),
      list);
    root.append(el("div", { class: "box", "data-box": String(n) }, form, status, results));

    let timer = 0;
    let settle = 0; // the whole-question search after a pause; any key other than typing cancels it
    let suggestCall = null;
    let searchCall = null;
    let options = [];
    let active = -1;

    function closeList() {
      list.hidden = true;
      list.replaceChildren();
      options = [];
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function choose(index) {
      input.value = options[index].text;
      closeList();
      search(false);
    }

    function showSuggestions(data) {
      closeList();
      options = data.suggestions;
      options.forEach((s, i) => {
        const option = el("li", { role: "option", id: "option-" + i, class: "option", "aria-selected": "false" },
          el("span", { class: "text" }, s.text), " ", el("span", { class: "kind" }, s.kind));
        option.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus in the box
        option.addEventListener("click", () => choose(i));
        list.append(option);
      });
      list.hidden = options.length === 0;
      input.setAttribute("aria-expanded", String(options.length > 0));
    }

    function setActive(index) {
      const items = list.querySelectorAll('[role="option"]');
      items.forEach((item) => item.setAttribute("aria-selected", "false"));
      active = index < -1 ? items.length - 1 : index >= items.length ? -1 : index;
      if (active < 0) input.removeAttribute("aria-activedescendant");
      else {
        items[active].setAttribute("aria-selected", "true");
        input.setAttribute("aria-activedescendant", items[active].id);
        items[active].scrollIntoView({ block: "nearest" });
      }
    }

    function showResults(data) {
      results.replaceChildren();
      if (data.urgent) {
        results.append(el("div", { class: "urgent", role: "alert" },
          el("p", { class: "urgent-title" }, data.urgent.title),
          el("p", {}, data.urgent.lead ? el("strong", {}, data.urgent.lead) : "", data.urgent.lead ? " " : "",
            data.urgent.message),
          el("p", { class: "urgent-source" }, "Source: " + data.urgent.source)));
      }
      if (data.did_you_mean) {
        const fix = el("a", { href: new URL("?q=" + encodeURIComponent(data.did_you_mean), SERVICE).href }, data.did_you_mean);
        fix.addEventListener("click", (event) => {
          event.preventDefault();
          input.value = data.did_you_mean;
          search(false);
        });
        results.append(el("p", { class: "did-you-mean" }, "Did you mean ", fix, "?"));
      }
      for (const c of data.care_advice || []) {
        results.append(el("aside", { class: "care", "aria-label": "When to see a doctor" },
          el("p", { class: "care-title" }, c.section), el("p", { class: "care-text" }, c.text),
          el("a", { href: link(c.url, c.article.slug) }, c.article.title + " — " + c.section)));
      }
      if (data.results.length === 0) {
        results.append(el("p", { class: "empty" }, "No passage answers that question."));
      } else {
        results.append(el("ol", { class: "hits" }, ...data.results.map((r) => el("li", { class: "hit" },
          el("a", { class: "hit-link", href: link(r.url, r.article.slug) }, r.article.title + " — " + r.section),
          el("p", { class: "snippet" }, snippetNodes(r.snippet, r.answer))))));
      }
      if (data.total > data.results.length) {
        results.append(el("p", { class: "more" },
          el("a", { href: new URL("?q=" + encodeURIComponent(data.query), SERVICE).href }, `All ${data.total} results`)));
      }
      const related = data.related || [];
      if (related.length) results.append(relatedBlock(related));
      status.textContent = `${data.total} result${data.total === 1 ? "" : "s"}`;
    }

    async function suggest() {
      const q = input.value;
      if (suggestCall) suggestCall.abort();
      if (!q.trim()) return closeList();
      suggestCall = new AbortController();
      try {
        showSuggestions(await getJSON("suggest", { q, limit: "6" }, suggestCall));
      } catch (error) {
        if (error.name !== "AbortError") closeList();
      }
    }

    async function search(prefix) {
      const q = input.value;
      if (searchCall) searchCall.abort();
      if (!q.trim()) {
        results.replaceChildren();
        status.textContent = "";
        return;
      }
      searchCall = new AbortController();
      const params = { q, limit: String(RESULTS) };
      if (prefix) params.prefix = "true";
      try {
        showResults(await getJSON("search", params, searchCall));
      } catch (error) {
        if (error.name !== "AbortError") status.textContent = "Search is unavailable right now.";
      }
    }

    input.addEventListener("input", () => {
      window.clearTimeout(timer);
      window.clearTimeout(settle);
      timer = window.setTimeout(() => { suggest(); search(true); }, DEBOUNCE_MS);
      settle = window.setTimeout(() => search(false), SETTLE_MS);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key.length > 1 && event.key !== "Backspace" && event.key !== "Delete") window.clearTimeout(settle);
      if (event.key === "ArrowDown" && options.length) { event.preventDefault(); setActive(active + 1); }
      else if (event.key === "ArrowUp" && options.length) { event.preventDefault(); setActive(active - 1); }
      else if (event.key === "Enter" && active >= 0) { event.preventDefault(); choose(active); }
      else if (event.key === "Escape") {
        event.preventDefault();
        if (!list.hidden) closeList();
        else { input.value = ""; search(false); }
      }
    });
    input.addEventListener("blur", () => window.setTimeout(closeList, 150));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      window.clearTimeout(timer);
      if (suggestCall) suggestCall.abort();
      closeList();
      search(false);
    });
  }

  function mountAll() {
    document.querySelectorAll("[data-healthfaq-search]").forEach(mount);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
