// The drawing page: the clip's max projection with the proposal's fans and
// rectangles on a canvas; handles are dragged with the pointer, Enter saves.
// Geometry follows sonomask-core's geometry module: pixel coordinates, y
// down, fan angles from the downward vertical (positive towards +x).
"use strict";
(() => {
  const { $, call, withToken, toast, toggleHelp, loadImage, plainKey } = Sonomask;
  const MAX_EDGE = 1.45;    // rad, as geometry::MAX_EDGE_ANGLE
  const HIT_PX = 14;        // CSS px around a handle that grab it
  let state = null;         // the server's view
  let clip = null;          // current clip (with proposal)
  let regions = [];         // the drawing, edited in place
  let history = [];         // earlier drawings, for undo
  let selected = 0;
  let shownAt = performance.now();
  let drag = null;
  let view = { scale: 1, mx: 0, mt: 0, vw: 1, vh: 1 };
  let busy = false;
  const frames = new Map(); // id -> Promise<img>
  const clips = new Map();  // id -> Promise<clip>

  const copy = (o) => JSON.parse(JSON.stringify(o));
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

  function frameOf(id) {
    if (!frames.has(id)) {
      frames.set(id, loadImage(withToken(`/api/annotate/clips/${encodeURIComponent(id)}/frame.png`)));
      while (frames.size > 6) frames.delete(frames.keys().next().value);
    }
    return frames.get(id);
  }

  function prefetch(id) {
    if (!id) return;
    frameOf(id);
    if (!clips.has(id)) {
      clips.set(id, call("GET", `/api/annotate/clips/${encodeURIComponent(id)}`).catch(() => null));
      while (clips.size > 6) clips.delete(clips.keys().next().value);
    }
  }

  // ---- geometry --------------------------------------------------------
  function fanPoint(f, r, th) {
    return [f.apex_x + r * Math.sin(th), f.apex_y + r * Math.cos(th)];
  }
  function fanContains(f, x, y) {
    const dx = x - f.apex_x, dy = y - f.apex_y;
    if (dy <= 0) return false;
    if (f.flat_top != null && y < f.flat_top) return false;
    const c = f.clip;
    if (c && !(x >= c.x0 && x < c.x1 && y >= c.y0 && y < c.y1)) return false;
    const r2 = dx * dx + dy * dy;
    if (r2 > f.r_outer * f.r_outer || r2 < f.r_inner * f.r_inner) return false;
    const t = dx / dy;
    return t >= Math.tan(f.angle_left) && t <= Math.tan(f.angle_right);
  }
  function contains(r, x, y) {
    if (r.kind === "rect") return x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1;
    return fanContains(r, x, y);
  }
  // Distance from the apex to where an edge at angle th meets the flat top.
  function topRadius(f, th) {
    const base = f.flat_top != null ? Math.max(0, (f.flat_top - f.apex_y) / Math.cos(th)) : 0;
    return Math.max(base, f.r_inner);
  }
  function handles(r) {
    if (r.kind === "rect") {
      return [
        ["tl", r.x0, r.y0], ["tr", r.x1, r.y0], ["bl", r.x0, r.y1], ["br", r.x1, r.y1],
      ];
    }
    const mid = (r.angle_left + r.angle_right) / 2;
    const along = (th) => topRadius(r, th) + 0.6 * (r.r_outer - topRadius(r, th));
    const hs = [["apex", r.apex_x, r.apex_y]];
    if (r.flat_top != null) hs.push(["top", r.apex_x, r.flat_top]);
    hs.push(["left", ...fanPoint(r, along(r.angle_left), r.angle_left)]);
    hs.push(["right", ...fanPoint(r, along(r.angle_right), r.angle_right)]);
    hs.push(["outer", ...fanPoint(r, r.r_outer, mid)]);
    if (r.r_inner > 0) hs.push(["inner", ...fanPoint(r, r.r_inner, mid)]);
    return hs;
  }
  function moveHandle(r, name, x, y, dx, dy) {
    if (r.kind === "rect") {
      if (name.includes("l")) r.x0 = x; else if (name.includes("r")) r.x1 = x;
      if (name.includes("t")) r.y0 = y; else if (name.includes("b")) r.y1 = y;
      if (name === "body") { r.x0 += dx; r.x1 += dx; r.y0 += dy; r.y1 += dy; }
      return;
    }
    const dist = Math.hypot(x - r.apex_x, y - r.apex_y);
    const angle = Math.atan2(x - r.apex_x, Math.max(1e-3, y - r.apex_y));
    switch (name) {
      case "apex": case "body":
        r.apex_x += dx; r.apex_y += dy;
        if (r.flat_top != null) r.flat_top += dy;
        break;
      case "top":
        r.flat_top = clamp(y, r.apex_y + 1, r.apex_y + r.r_outer - 5);
        break;
      case "left":
        r.angle_left = clamp(angle, -MAX_EDGE, r.angle_right - 0.02);
        break;
      case "right":
        r.angle_right = clamp(angle, r.angle_left + 0.02, MAX_EDGE);
        break;
      case "outer":
        r.r_outer = Math.max(dist, r.r_inner + 5,
          r.flat_top != null ? r.flat_top - r.apex_y + 5 : 5);
        break;
      case "inner":
        r.r_inner = clamp(dist, 0, r.r_outer - 5);
        break;
    }
  }
  function normalise(r) {
    if (r.kind !== "rect") return;
    if (r.x0 > r.x1) [r.x0, r.x1] = [r.x1, r.x0];
    if (r.y0 > r.y1) [r.y0, r.y1] = [r.y1, r.y0];
  }
  function toRect(f) {
    const pts = [fanPoint(f, topRadius(f, f.angle_left), f.angle_left),
      fanPoint(f, topRadius(f, f.angle_right), f.angle_right)];
    for (let k = 0; k <= 16; k++) {
      const th = f.angle_left + (f.angle_right - f.angle_left) * k / 16;
      pts.push(fanPoint(f, f.r_outer, th));
    }
    const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
    const W = clip.width, H = clip.height;
    return { kind: "rect",
      x0: clamp(Math.min(...xs), 0, W), y0: clamp(Math.min(...ys), 0, H),
      x1: clamp(Math.max(...xs), 0, W), y1: clamp(Math.max(...ys), 0, H) };
  }
  function toFan(q) {
    const h = Math.max(10, q.y1 - q.y0);
    const half = Math.min(1.2, Math.atan2((q.x1 - q.x0) / 2, h));
    return { kind: "fan", apex_x: (q.x0 + q.x1) / 2, apex_y: q.y0, angle_left: -half,
      angle_right: half, r_inner: 0, r_outer: h, flat_top: null, clip: null };
  }

  // ---- drawing ---------------------------------------------------------
  const canvas = $("overlay");
  const ctx = canvas.getContext("2d");

  function layout() {
    if (!clip) return;
    const W = clip.width, H = clip.height;
    const mx = Math.round(0.06 * W), mt = Math.round(0.12 * H), mb = Math.round(0.04 * H);
    const vw = W + 2 * mx, vh = H + mt + mb;
    const avail = document.querySelector("header").getBoundingClientRect().height + 32;
    const scale = Math.max(0.1, Math.min((innerWidth - 24) / vw, (innerHeight - avail) / vh));
    view = { scale, mx, mt, vw, vh };
    const stage = $("stage");
    stage.style.width = `${vw * scale}px`;
    stage.style.height = `${vh * scale}px`;
    const img = $("frame");
    img.style.left = `${mx * scale}px`;
    img.style.top = `${mt * scale}px`;
    img.style.width = `${W * scale}px`;
    img.style.height = `${H * scale}px`;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(vw * scale * dpr);
    canvas.height = Math.round(vh * scale * dpr);
    draw();
  }

  function imageTransform() {
    const dpr = window.devicePixelRatio || 1;
    const s = view.scale * dpr;
    ctx.setTransform(s, 0, 0, s, view.mx * s, view.mt * s);
  }

  function regionPath(r) {
    ctx.beginPath();
    if (r.kind === "rect") { ctx.rect(r.x0, r.y0, r.x1 - r.x0, r.y1 - r.y0); return; }
    const phi = (th) => Math.PI / 2 - th;
    ctx.moveTo(...fanPoint(r, r.r_inner, r.angle_left));
    ctx.lineTo(...fanPoint(r, r.r_outer, r.angle_left));
    ctx.arc(r.apex_x, r.apex_y, r.r_outer, phi(r.angle_left), phi(r.angle_right), true);
    ctx.lineTo(...fanPoint(r, r.r_inner, r.angle_right));
    if (r.r_inner > 0) ctx.arc(r.apex_x, r.apex_y, r.r_inner, phi(r.angle_right), phi(r.angle_left), false);
    ctx.closePath();
  }
  // The fan's clip rectangle and flat top as a clipping path (slack: a
  // line drawn on the boundary stays visible).
  function regionClip(r, slack) {
    if (r.kind === "rect") return;
    const big = 1e5;
    const c = r.clip || { x0: -big, y0: -big, x1: big, y1: big };
    const top = Math.max(c.y0, r.flat_top != null ? r.flat_top : -big) - slack;
    ctx.beginPath();
    ctx.rect(c.x0 - slack, top, c.x1 - c.x0 + 2 * slack, c.y1 + slack - top);
    ctx.clip();
  }

  function draw() {
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!clip) return;
    imageTransform();
    const W = clip.width, H = clip.height;
    const px = 1 / view.scale; // one CSS pixel in image units
    // Dim what the drawing drops.
    ctx.save();
    ctx.fillStyle = "rgba(0,0,0,0.55)";
    ctx.fillRect(0, 0, W, H);
    ctx.globalCompositeOperation = "destination-out";
    for (const r of regions) {
      ctx.save(); regionClip(r, 0); regionPath(r); ctx.fillStyle = "#000"; ctx.fill(); ctx.restore();
    }
    ctx.restore();
    // Outlines: the shape's edges, then its flat top and clip edges.
    regions.forEach((r, k) => {
      const colour = k === selected ? "#28ff8c" : "#7fd6ff";
      ctx.save(); regionClip(r, 1.5 * px); regionPath(r);
      ctx.lineWidth = 2 * px; ctx.strokeStyle = colour; ctx.stroke(); ctx.restore();
      if (r.kind === "fan" && (r.flat_top != null || r.clip)) {
        ctx.save(); regionPath(r); ctx.clip(); regionClip(r, 0);
        ctx.beginPath();
        if (r.flat_top != null) { ctx.moveTo(-1e5, r.flat_top); ctx.lineTo(1e5, r.flat_top); }
        if (r.clip) ctx.rect(r.clip.x0, r.clip.y0, r.clip.x1 - r.clip.x0, r.clip.y1 - r.clip.y0);
        ctx.lineWidth = 4 * px; ctx.strokeStyle = colour; ctx.stroke(); ctx.restore();
      }
    });
    // Handles.
    regions.forEach((r, k) => {
      for (const [name, x, y] of handles(r)) {
        ctx.beginPath();
        ctx.arc(x, y, 6 * px, 0, 2 * Math.PI);
        ctx.fillStyle = k === selected ? "#28ff8c" : "#7fd6ff";
        ctx.strokeStyle = "#06140c";
        ctx.lineWidth = 2 * px;
        ctx.fill(); ctx.stroke();
        if (name === "apex" && drag && drag.name === "apex") {
          ctx.beginPath(); ctx.arc(x, y, 10 * px, 0, 2 * Math.PI); ctx.stroke();
        }
      }
    });
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  // ---- pointer -----------------------------------------------------------
  function toImage(e) {
    const b = canvas.getBoundingClientRect();
    return [(e.clientX - b.left) / view.scale - view.mx, (e.clientY - b.top) / view.scale - view.mt];
  }
  function hit(x, y) {
    let best = null;
    const lim = HIT_PX / view.scale;
    regions.forEach((r, k) => {
      for (const [name, hx, hy] of handles(r)) {
        const d = Math.hypot(hx - x, hy - y);
        if (d <= lim && (!best || d < best.d)) best = { region: k, name, d };
      }
    });
    if (best) return best;
    for (let k = regions.length - 1; k >= 0; k--) {
      if (contains(regions[k], x, y)) return { region: k, name: "body", d: 0 };
    }
    return null;
  }
  canvas.addEventListener("pointerdown", (e) => {
    if (!clip) return;
    const [x, y] = toImage(e);
    const h = hit(x, y);
    if (!h) return;
    history.push(copy(regions));
    selected = h.region;
    drag = { ...h, x, y };
    canvas.setPointerCapture(e.pointerId);
    e.preventDefault();
    draw();
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const [x, y] = toImage(e);
    moveHandle(regions[drag.region], drag.name, x, y, x - drag.x, y - drag.y);
    drag.x = x; drag.y = y;
    draw();
  });
  function endDrag(e) {
    if (!drag) return;
    normalise(regions[drag.region]);
    drag = null;
    if (canvas.hasPointerCapture(e.pointerId)) canvas.releasePointerCapture(e.pointerId);
    draw();
  }
  canvas.addEventListener("pointerup", endDrag);
  canvas.addEventListener("pointercancel", endDrag);

  // ---- clips -----------------------------------------------------------
  async function show(s) {
    state = s;
    $("progress").textContent = `${s.done} of ${s.total} done`;
    $("mean").textContent = s.mean_seconds != null ? `${s.mean_seconds.toFixed(1)} s/drawing` : "– s/drawing";
    const c = s.current;
    $("done").hidden = !!c;
    $("stage").hidden = !c;
    if (c) {
      const img = await frameOf(c.id);
      const old = $("frame");
      img.id = "frame";
      img.alt = old.alt;
      if (img !== old) old.replaceWith(img);
      clip = c;
      regions = copy(c.proposal.regions.regions);
      history = [];
      selected = 0;
      $("clip").textContent = `${c.id} (#${c.position})${c.done ? " · done" : ""}`;
      $("source").textContent = `from ${c.proposal.source}`;
      layout();
    } else {
      clip = null;
      $("clip").textContent = "all done";
      draw();
    }
    prefetch(s.next);
    shownAt = performance.now();
  }

  async function act(fn) {
    if (busy) return;
    busy = true;
    try {
      await fn();
    } catch (e) {
      toast(`not saved: ${e.message}`);
    } finally {
      busy = false;
    }
  }

  function seconds() {
    return Math.max(0, (performance.now() - shownAt) / 1000);
  }

  function save() {
    return act(async () => {
      if (!clip) return;
      const id = clip.id;
      const s = await call("POST", "/api/annotate/save",
        { clip: id, regions: { regions }, seconds: seconds() });
      const saved = $("saved");
      saved.className = "saved draw";
      saved.textContent = `saved ✓ ${id}`;
      window.sonomaskAnnotate.saves += 1;
      await show(s);
    });
  }

  document.addEventListener("keydown", (e) => {
    if (!plainKey(e)) return;
    if (e.key === "?") { toggleHelp(); e.preventDefault(); return; }
    if (e.key === "Escape") { toggleHelp(false); return; }
    if (e.repeat && e.key !== "u" && e.key !== "Backspace") return;
    const r = regions[selected];
    switch (e.key) {
      case "Enter": e.preventDefault(); save(); return;
      case "f":
        act(async () => {
          if (!clip) return;
          const id = clip.id;
          const s = await call("POST", "/api/annotate/flag", { clip: id, seconds: seconds() });
          $("saved").className = "saved flag";
          $("saved").textContent = `flagged ${id}`;
          await show(s);
        });
        return;
      case "ArrowRight": case "n": case "ArrowLeft": case "p":
        e.preventDefault();
        act(async () => show(await call("POST", "/api/annotate/step",
          { step: e.key === "ArrowRight" || e.key === "n" ? 1 : -1 })));
        return;
      case "u": case "Backspace":
        e.preventDefault();
        if (history.length) { regions = history.pop(); selected = Math.min(selected, regions.length - 1); draw(); }
        return;
      case "r":
        if (clip) { history.push(copy(regions)); regions = copy(clip.proposal.regions.regions); selected = 0; draw(); }
        return;
      case "t":
        if (r) { history.push(copy(regions)); regions[selected] = r.kind === "rect" ? toFan(r) : toRect(r); draw(); }
        return;
      case "b":
        if (r && r.kind === "fan") {
          history.push(copy(regions));
          r.flat_top = r.flat_top == null ? r.apex_y + 0.08 * r.r_outer : null;
          draw();
        }
        return;
      case "+": case "=":
        if (clip && regions.length < 4) {
          history.push(copy(regions));
          const W = clip.width, H = clip.height;
          regions.push({ kind: "rect", x0: W * 0.3, y0: H * 0.3, x1: W * 0.7, y1: H * 0.7 });
          selected = regions.length - 1;
          draw();
        }
        return;
      case "x": case "Delete":
        if (regions.length > 1) {
          history.push(copy(regions));
          regions.splice(selected, 1);
          selected = 0;
          draw();
        }
        return;
    }
  });

  // For the browser tests (and the console): handle positions in viewport
  // pixels, the drawing, and how many saves went through.
  window.sonomaskAnnotate = {
    saves: 0,
    handles() {
      const b = canvas.getBoundingClientRect();
      return regions.flatMap((r, k) => handles(r).map(([name, x, y]) => ({
        region: k, name,
        x: b.left + (x + view.mx) * view.scale,
        y: b.top + (y + view.mt) * view.scale,
      })));
    },
    regions() { return copy(regions); },
    clip() { return clip && clip.id; },
  };

  window.addEventListener("resize", layout);
  window.addEventListener("load", () => window.focus());
  call("GET", "/api/annotate/state").then(show).catch((e) => toast(`cannot load: ${e.message}`));
})();
