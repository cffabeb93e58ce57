"use strict";
// Builds the page from the JSON above with textContent only: nothing in the data becomes markup.
const DATA = JSON.parse(document.getElementById("data").textContent);
const $ = (id) => document.getElementById(id);
const FILTERS = ["group", "protocol", "debater", "opponent", "side", "judge", "self", "item", "q"];

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k.nodeType ? k : String(k));
  return e;
}

function state() { return new URLSearchParams(location.hash.slice(1)); }
function go(params) { location.hash = new URLSearchParams(params).toString(); }
function pctText(p) { return p === null || p === undefined ? "-" : (100 * p).toFixed(0) + "%"; }

function cell(c) {
  if (c === null || typeof c !== "object") return el("td", {}, c);
  const a = el("a", { class: "num", title: "show these matches" }, c.text);
  a.addEventListener("click", () => go({ tab: "matches", ...c.filter }));
  return el("td", {}, a);
}

function drawSummary() {
  const box = $("summary");
  if (!DATA.sections.length) box.append(el("p", { class: "muted" }, "No results yet: see the matches."));
  for (const s of DATA.sections) {
    const sec = el("section", { class: "summary" }, el("h2", {}, s.title));
    for (const n of s.notes || []) sec.append(el("p", {}, n));
    if (s.stats && s.stats.length) {
      const t = el("table", {});
      for (const [k, v] of s.stats) t.append(el("tr", {}, el("th", {}, k), cell(v)));
      sec.append(t);
    }
    for (const tb of s.tables || []) {
      if (tb.title) sec.append(el("h3", {}, tb.title));
      const t = el("table", { class: "stats" }, el("tr", {}, ...tb.columns.map((c) => el("th", {}, c))));
      for (const r of tb.rows) t.append(el("tr", {}, ...r.map(cell)));
      sec.append(t);
    }
    const plots = el("div", { class: "plots" });
    for (const p of s.plots || []) {
      plots.append(el("figure", {}, el("img", { src: p.src, alt: p.title }), el("figcaption", { class: "muted" }, p.title)));
    }
    sec.append(plots);
    box.append(sec);
  }
}

function options(name, label, values) {
  const sel = el("select", { id: "f-" + name, "data-filter": name }, el("option", { value: "" }, "any"));
  for (const [v, text] of values) sel.append(el("option", { value: v }, text));
  sel.addEventListener("change", () => setFilter(name, sel.value));
  return el("label", {}, label + " ", sel);
}

function uniq(xs) { return [...new Set(xs)].sort().map((x) => [x, x]); }

function drawFilters() {
  const m = DATA.matches;
  const agents = uniq(m.flatMap((x) => x.agents));
  const search = el("input", { id: "f-q", type: "search", placeholder: "search speeches" });
  search.addEventListener("input", () => setFilter("q", search.value));
  $("filters").append(
    options("group", "folder", uniq(m.map((x) => x.group))),
    options("protocol", "protocol", uniq(m.map((x) => x.protocol))),
    options("debater", "debater", agents),
    options("opponent", "opponent", agents),
    options("side", "side", [["true", "argues the true answer"], ["false", "argues the false answer"]]),
    options("judge", "judge", [["correct", "correct"], ["wrong", "wrong"], ["unparsed", "verdict unparsed"], ["none", "no verdict"]]),
    options("self", "games", [["1", "self-play"], ["0", "two debaters"]]),
    options("item", "item", uniq(m.map((x) => x.item))),
    el("label", {}, "text ", search),
  );
}

function setFilter(name, value) {
  const s = state();
  if (value) s.set(name, value); else s.delete(name);
  s.set("tab", "matches");
  s.delete("match");
  location.hash = s.toString();
}

function keep(x, f) {
  if (f.group && x.group !== f.group) return false;
  if (f.protocol && x.protocol !== f.protocol) return false;
  if (f.item && x.item !== f.item) return false;
  if (f.self && String(Number(x.self_play)) !== f.self) return false;
  if (f.judge) {
    if (x.outcome !== f.judge) return false;
  }
  if (f.debater && !x.agents.includes(f.debater)) return false;
  if (f.opponent) {
    if (f.debater === f.opponent) { if (!x.self_play) return false; }
    else if (!x.players.some((p) => p.agent === f.opponent)) return false;
  }
  if (f.side) {
    const sides = f.debater ? x.sides[f.debater] || [] : Object.values(x.sides).flat();
    if (!sides.includes(f.side)) return false;
  }
  if (f.q && !x.text.includes(f.q.toLowerCase())) return false;
  return true;
}

// the judge's outcome: an unread verdict is no pick, marked as such (never "wrong")
function outcomeMark(x, right, wrong) {
  if (x.outcome === "unparsed") return el("span", { class: "muted" }, "? unparsed");
  return el("span", { class: x.judge_correct ? "ok" : "bad" }, x.judge_correct ? right : wrong);
}

function drawList(f) {
  const body = $("matches").tBodies[0];
  body.replaceChildren();
  const shown = DATA.matches.filter((x) => keep(x, f));
  for (const x of shown) {
    const players = x.players.map((p) => `${p.agent} (${x.answers[p.side]}${p.side === x.correct ? ", true" : ""})`).join(" vs ") || "-";
    const j = x.outcome === "none" ? el("span", { class: "muted" }, x.status === "error" ? "error" : "-")
      : outcomeMark(x, "✓ correct", "✗ wrong");
    const tr = el("tr", { class: "row", "data-key": x.key },
      el("td", {}, x.group), el("td", {}, x.item), el("td", {}, x.question), el("td", {}, players),
      el("td", {}, pctText(x.p_correct)), el("td", {}, j),
      el("td", {}, `${x.quotes[0]} / ${x.quotes[1]}`), el("td", {}, x.wall_s.toFixed(2) + " s"));
    tr.addEventListener("click", () => { const s = state(); s.set("match", x.key); location.hash = s.toString(); });
    body.append(tr);
  }
  $("count").textContent = `${shown.length} of ${DATA.matches.length} matches`;
}

function bars(answers, probs, correct, label) {
  const box = el("div", { class: "bars" }, el("div", { class: "muted" }, label));
  answers.forEach((a, i) => {
    const fill = el("div", { class: "fill" + (i === correct ? " true" : "") });
    fill.style.width = (100 * probs[i]).toFixed(1) + "%";
    box.append(el("div", { class: "bar" },
      el("span", { class: "name" }, `${"ABCDEFGH"[i]}: ${a}${i === correct ? " (true)" : ""}`),
      el("span", { class: "track" }, fill), el("span", {}, probs[i].toFixed(2))));
  });
  return box;
}

// An MNIST item: the hidden image faint, each revealed pixel at full strength, outlined in the
// colour of the side that showed it (green: the true answer's side, red: the other).
function drawImage(x) {
  const NS = "http://www.w3.org/2000/svg", px = 8, n = 28;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("width", n * px); svg.setAttribute("height", n * px);
  svg.setAttribute("class", "digit");
  const rect = (i, fill, stroke) => {
    const r = document.createElementNS(NS, "rect");
    for (const [k, v] of Object.entries({ x: (i % n) * px, y: Math.floor(i / n) * px, width: px, height: px, fill })) r.setAttribute(k, v);
    if (stroke) { r.setAttribute("stroke", stroke); r.setAttribute("stroke-width", 2); }
    svg.append(r);
    return r;
  };
  x.image.levels.forEach((v, i) => rect(i, `rgb(${255 - v * 0.25},${255 - v * 0.25},${255 - v * 0.25})`));
  for (const s of x.image.shown) {
    const v = 255 - x.image.levels[s.pos];
    const colour = s.side === null ? "#555" : s.side === x.correct ? "#1a7f37" : "#cf222e";
    const r = rect(s.pos, `rgb(${v},${v},${v})`, colour);
    const t = document.createElementNS(NS, "title");
    t.textContent = `pixel (${Math.floor(s.pos / n)}, ${s.pos % n}) = ${x.image.levels[s.pos]}` + (s.side === null ? "" : ` shown for ${x.answers[s.side]}`);
    r.append(t);
  }
  return el("div", {}, svg);
}

function drawTranscript(x) {
  const box = $("transcript");
  box.replaceChildren();
  const back = el("a", { class: "num", id: "back" }, "← back to the list");
  back.addEventListener("click", () => { const s = state(); s.delete("match"); location.hash = s.toString(); });
  const t = el("div", { class: "transcript" }, back, el("h2", {}, x.question),
    el("div", { class: "muted" }, `${x.id} · ${x.group} · protocol ${x.protocol} · ${x.wall_s.toFixed(2)} s`));
  t.append(el("p", {}, ...x.answers.flatMap((a, i) => [el("b", {}, `${"ABCDEFGH"[i]}: `), a + (i === x.correct ? " (true)   " : "   ")])));
  const passage = el("div", { class: "passage" }, el("b", {}, x.image ? "Hidden image: " : "Hidden passage: "));
  if (x.image) passage.append(drawImage(x));
  else for (const s of x.passage) {
    if (!s.by) { passage.append(s.t); continue; }
    const who = s.by.map((n) => `${x.turns[n].label} (${x.turns[n].agent})`).join(", ");
    passage.append(el("mark", { class: "quoted", title: "quoted by " + who }, s.t));
  }
  t.append(passage);
  for (const u of x.turns) {
    const side = u.side === null ? "" : x.answers[u.side];
    const cls = u.judge ? "judge-q" : u.side === null ? "" : u.side === x.correct ? "side-true" : "side-false";
    const body = el("div", { class: "body" });
    for (const s of u.segments) {
      body.append(s.q ? el("span", { class: s.q === "v" ? "quote-verified" : "quote-unverified" }, s.t) : s.t);
    }
    const head = u.judge ? `Judge's question (round ${u.round + 1})`
      : `${u.label} (${u.agent})${side ? ` argues "${side}"` : ""}, round ${u.round + 1}`;
    const raw = el("details", { class: "raw" }, el("summary", { class: "muted" }, "raw text"), el("div", { class: "body" }, u.raw));
    t.append(el("div", { class: "speech " + cls }, el("div", { class: "head" }, head), body, raw,
      el("div", { class: "muted" }, `${u.tokens_in} tokens in, ${u.tokens_out} out, ${u.wall_s.toFixed(3)} s`)));
  }
  const v = x.verdict;
  if (v) {
    const head = el("h3", {}, `Verdict by ${v.judge}: `,
      outcomeMark(x, "correct", "wrong"));
    t.append(head, bars(x.answers, v.probs, x.correct, v.order_probs.length ? "mean of both answer orders" : "probability per answer"));
    if (v.order_probs.length === 2) {
      t.append(bars(x.answers, v.order_probs[0], x.correct, "answers as given"),
        bars(x.answers, v.order_probs[1], x.correct, "answers swapped (shown in the given order)"));
    }
    for (const m of v.members || []) {
      t.append(bars(x.answers, m.probs, x.correct, `panel member ${m.judge}${m.parsed ? "" : " (verdict unparsed)"}`));
    }
    if (v.raw) t.append(el("div", { class: "speech judge-q" }, el("div", { class: "head" }, "Judge's reasoning"), el("div", { class: "body" }, v.raw)));
    t.append(el("div", { class: "muted" }, `${v.calls} judge call(s), ${v.wall_s.toFixed(3)} s${v.parsed ? "" : ", verdict not parsed"}`));
  } else if (x.error) {
    t.append(el("p", { class: "bad" }, "error: " + x.error));
  }
  box.append(t);
}

function draw() {
  const s = state();
  const tab = s.get("tab") || (DATA.sections.length ? "summary" : "matches");
  const f = Object.fromEntries(FILTERS.map((k) => [k, s.get(k) || ""]));
  for (const k of FILTERS) { const e = $("f-" + k); if (e && e.value !== f[k]) e.value = f[k]; }
  const match = s.get("match") && DATA.matches.find((x) => x.key === s.get("match"));
  $("tab-summary").className = tab === "summary" ? "on" : "";
  $("tab-matches").className = tab === "matches" ? "on" : "";
  $("summary").classList.toggle("hidden", tab !== "summary");
  $("list").classList.toggle("hidden", tab !== "matches" || !!match);
  $("transcript").classList.toggle("hidden", tab !== "matches" || !match);
  if (tab === "matches") { if (match) drawTranscript(match); else drawList(f); }
}

$("folder").textContent = `${DATA.folder} · ${DATA.matches.length} matches · built ${DATA.generated}`;
$("tab-summary").addEventListener("click", () => go({ tab: "summary" }));
$("tab-matches").addEventListener("click", () => { const s = state(); s.set("tab", "matches"); s.delete("match"); location.hash = s.toString(); });
drawSummary();
drawFilters();
window.addEventListener("hashchange", draw);
draw();
