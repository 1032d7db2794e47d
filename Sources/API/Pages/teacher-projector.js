// Projector mode: the whole screen for the QR (as large as the screen allows), the code and the
// short address in huge type, and live counts. Esc or the button leaves it.
"use strict";
import { $ } from "./teacher.js";

let shown = false;

export function showProjector(state) {
  if (!state) return;
  shown = true;
  $("projector").hidden = false;
  document.body.classList.add("projecting");
  updateProjector(state);
  const root = document.documentElement;
  if (root.requestFullscreen && !document.fullscreenElement) root.requestFullscreen().catch(() => {});
  $("pExit").focus();
}

export function hideProjector() {
  if (!shown) return;
  shown = false;
  $("projector").hidden = true;
  document.body.classList.remove("projecting");
  if (document.fullscreenElement && document.exitFullscreen) document.exitFullscreen().catch(() => {});
}

export function updateProjector(state) {
  if (!shown || !state) return;
  $("pName").textContent = state.name;
  $("pCode").textContent = state.code;
  $("pWhere").textContent = state.where;
  $("pWhere").hidden = !state.where;
  $("pWhere").previousElementSibling.textContent = state.where ? "No camera? Go to" : "Class code";
  $("pWhere").nextElementSibling.hidden = !state.where;
  $("pCounts").textContent = state.counts;
  if (state.qr && $("pQr").src !== state.qr) $("pQr").src = state.qr;
}

export function initProjector() {
  $("pExit").addEventListener("click", hideProjector);
  document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") hideProjector(); });
  document.addEventListener("fullscreenchange", () => { if (!document.fullscreenElement && shown) hideProjector(); });
}
