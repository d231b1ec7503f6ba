// The review page: one key per decision. Keys are queued and handled one at
// a time; each decision goes to the server, which appends it to the journal
// and fsyncs before answering, and only then does the page show the next
// clip, whose pictures were prefetched while this one was on screen.
"use strict";
(() => {
  const { $, call, withToken, toast, toggleHelp, loadImage, plainKey } = Sonomask;
  const KEYS = {
    a: "accept", ArrowRight: "accept",
    r: "reject", ArrowLeft: "reject",
    f: "flag",
    u: "undo", Backspace: "undo",
  };
  let state = null;
  let shownAt = performance.now();
  let src = "max";
  const queue = [];
  let busy = false;
  // Exposed for the browser tests and for curious people (console):
  // decisions this page session, their times, and the UI time per decision
  // (request start to the next clip painted, ms).
  const stats = { decisions: 0, firstAt: null, lastAt: null, uiMs: [] };
  window.sonomaskStats = stats;

  const pictures = new Map(); // "id/src" -> Promise<[outline, dimmed]>
  function picturesOf(id) {
    const key = id + "/" + src;
    if (!pictures.has(key)) {
      const base = `/api/review/clips/${encodeURIComponent(id)}/`;
      const q = src === "max" ? "" : `?src=${src}`;
      pictures.set(key, Promise.all([
        loadImage(withToken(base + "outline.png" + q)),
        loadImage(withToken(base + "dimmed.png" + q)),
      ]));
      // Keep the cache small: the current clip, the next, a few behind.
      while (pictures.size > 12) pictures.delete(pictures.keys().next().value);
    }
    return pictures.get(key);
  }

  function swap(id, im) {
    const old = $(id);
    im.id = id;
    im.alt = old.alt;
    if (old !== im) old.replaceWith(im);
  }

  async function show(s) {
    state = s;
    const c = s.current;
    $("progress").textContent = `${s.decided} of ${s.total} decided`;
    $("done").hidden = !!c;
    $("pair").hidden = !c;
    if (c) {
      const [o, d] = await picturesOf(c.id);
      swap("outline", o);
      swap("dimmed", d);
      $("clip").textContent = `${c.id} (#${c.position})`;
      $("nolabel").hidden = c.has_label;
      const b = $("standing");
      b.hidden = !c.standing;
      b.className = "badge " + (c.standing || "");
      b.textContent = c.standing ? `was: ${c.standing}` : "";
    } else {
      $("clip").textContent = "all decided";
    }
    // Prefetch the clips that come next, nearest first.
    (s.upcoming || []).reduce((p, id) => p.then(() => picturesOf(id)), Promise.resolve());
    shownAt = performance.now();
  }

  // Resolves just after the next paint: a timeout queued from the frame
  // callback runs once that frame is on screen.
  function painted() {
    return new Promise((res) => requestAnimationFrame(() => setTimeout(res, 0)));
  }

  function showRate() {
    if (stats.decisions >= 2 && stats.lastAt > stats.firstAt) {
      const perMin = (stats.decisions - 1) / ((stats.lastAt - stats.firstAt) / 60000);
      $("rate").textContent = `${perMin.toFixed(0)} decisions/min`;
    }
  }

  async function handle(action, pressedAt) {
    const t0 = performance.now();
    const seconds = Math.max(0, (pressedAt - shownAt) / 1000);
    let next;
    if (action === "undo") {
      next = await call("POST", "/api/review/undo", { seconds });
    } else {
      if (!state || !state.current) return;
      next = await call("POST", "/api/review/decide", {
        clip: state.current.id, decision: action, seconds,
      });
    }
    const decided = action === "undo" ? next.current && next.current.id : state.current.id;
    await show(next);
    await painted();
    const now = performance.now();
    stats.decisions += 1;
    stats.firstAt = stats.firstAt ?? now;
    stats.lastAt = now;
    stats.uiMs.push(now - t0);
    const saved = $("saved");
    saved.className = "saved " + action;
    saved.textContent = `saved ✓ ${decided || ""} ${action} · ${(now - t0).toFixed(0)} ms`;
    showRate();
  }

  async function pump() {
    if (busy) return;
    busy = true;
    try {
      await ready; // keys pressed while the first clip loads wait for it
      while (queue.length) {
        const { action, at } = queue.shift();
        try {
          await handle(action, at);
        } catch (e) {
          // Keys pressed after a failure were meant for a clip the page may
          // not show: drop them rather than decide the wrong clip.
          queue.length = 0;
          toast(`not saved: ${e.message}`);
        }
      }
    } finally {
      busy = false;
    }
  }

  document.addEventListener("keydown", (e) => {
    if (!plainKey(e)) return;
    if (e.key === "?") { toggleHelp(); e.preventDefault(); return; }
    if (e.key === "Escape") { toggleHelp(false); return; }
    if (e.key === "m") {
      src = src === "max" ? "0" : "max";
      if (state) show(state);
      return;
    }
    const action = KEYS[e.key];
    if (!action) return;
    e.preventDefault();
    if (e.repeat) return; // a held key is one decision, not thirty
    queue.push({ action, at: performance.now() });
    pump();
  });

  window.addEventListener("load", () => window.focus());
  const ready = call("GET", "/api/review/state")
    .then(show)
    .catch((e) => toast(`cannot load: ${e.message}`));
})();
