// The search box of a static pledgegraph release: finds entities by any of their names in
// search-index.json (written by `pledgegraph build`, shipped by `publish`), with no server.
// Names are matched by their ICU key (Latin ASCII, lowercase: see search.py) and by their own
// script, lowercased without diacritics; exact name first, then name start, word start, anywhere.
// Fuzzy matching of misspellings is the server's (`pledgegraph search`, `serve` /search).
"use strict";

function fold(text) {
  return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/['`\u2018\u2019\u02b9\u02bb\u02bc\u02be\u02bf]/g, "")
    .replace(/[^\p{L}\p{N}]+/gu, " ").trim();
}

function rank(index, text, limit) {
  const query = fold(text);
  if (!query) return [];
  const best = new Map();
  for (const [owner, name, lang, preferred, key] of index.names) {
    let score = 0;
    for (const k of [key, fold(name)]) {
      const s = k === query ? 4 : k.startsWith(query) ? 3 : (" " + k).includes(" " + query) ? 2 : k.includes(query) ? 1 : 0;
      score = Math.max(score, s);
    }
    if (!score) continue;
    const mine = [score, preferred, name, lang];
    const seen = best.get(owner);
    if (!seen || score > seen[0] || (score === seen[0] && preferred > seen[1])) best.set(owner, mine);
  }
  return [...best.entries()]
    .sort((a, b) => b[1][0] - a[1][0] || b[1][1] - a[1][1] || index.entities[a[0]][2].localeCompare(index.entities[b[0]][2]))
    .slice(0, limit)
    .map(([owner, [score, , name, lang]]) => {
      const [iri, kind, label, description] = index.entities[owner];
      return { iri, kind, label, description, name, lang, page: iri.slice((index.base + "id/").length) + ".html" };
    });
}

if (typeof module !== "undefined") {
  module.exports = { fold, rank };
} else {
  const query = new URLSearchParams(window.location.search).get("q");
  const out = document.getElementById("search-results");
  if (query && out) {
    document.querySelector("#search input").value = query;
    fetch("search-index.json").then((r) => r.json()).then((index) => {
      const hits = rank(index, query, 20);
      out.replaceChildren(...(hits.length ? hits.map((h) => {
        const li = document.createElement("li");
        const a = document.createElement("a");
        a.href = h.page;
        a.textContent = h.label;
        li.append(a, ` (${h.kind})` + (h.name !== h.label ? `: matched “${h.name}” [${h.lang}]` : ""));
        return li;
      }) : [Object.assign(document.createElement("li"), { textContent: "No entity has a name like that." })]));
    });
  }
}
