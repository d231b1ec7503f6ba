// Shared by both pages: the session token, JSON calls, the help overlay and
// the error toast. No framework, no build step.
"use strict";
const Sonomask = (() => {
  const token = new URLSearchParams(location.search).get("token") || "";
  const $ = (id) => document.getElementById(id);

  async function call(method, path, body) {
    const init = { method, headers: { "X-Sonomask-Token": token } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const r = await fetch(path, init);
    let data = null;
    try { data = await r.json(); } catch (_) { /* not JSON */ }
    if (!r.ok) {
      const msg = (data && data.error) || `${r.status} ${r.statusText}`;
      throw new Error(msg);
    }
    return data;
  }

  function withToken(path) {
    return path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token);
  }

  let toastTimer = null;
  function toast(msg) {
    const t = $("error");
    t.textContent = msg;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 5000);
  }

  function toggleHelp(show) {
    const h = $("help");
    h.hidden = show === undefined ? !h.hidden : !show;
  }

  // Loads an image and waits until it is decoded, so swapping it in costs
  // no decode time on screen.
  function loadImage(src) {
    const im = new Image();
    im.decoding = "async";
    im.src = src;
    return im.decode().then(() => im, () => im);
  }

  // Plain keys only: leave browser shortcuts (Ctrl-R, Alt-←) alone.
  function plainKey(e) {
    return !(e.ctrlKey || e.metaKey || e.altKey);
  }

  return { token, $, call, withToken, toast, toggleHelp, loadImage, plainKey };
})();
