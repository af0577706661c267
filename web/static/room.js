// mapsync plan room: drag and drop of actions between and within phases. Every change it makes
// can also be made without it: each action has a "Move to" form (select + button), which is the
// keyboard alternative. A drop posts the same form fields to the same URL, with the session's
// CSRF token in a header, and reloads the page so it shows the plan as stored.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const room = document.getElementById("room");
  if (!room || !room.dataset.plan) return;
  const plan = room.dataset.plan;
  const csrf = room.dataset.csrf;
  const status = document.getElementById("room-status");
  const say = (msg) => { if (status) status.textContent = msg; };
  let dragged = null;

  // move posts a move of action el before the action "before" (null: the end) in phase.
  const move = async (el, phase, before) => {
    const body = new URLSearchParams({ version: el.dataset.version, phase_id: phase, before: before ? before.dataset.action : "" });
    say("Moving…");
    let res;
    try {
      res = await fetch(`/room/${plan}/actions/${el.dataset.action}/move`, {
        method: "POST", body, credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf, "X-Requested-With": "fetch" },
      });
    } catch (e) {
      say("The move was not saved: the server did not answer. Try again.");
      return;
    }
    const out = await res.json().catch(() => ({}));
    if (!res.ok) {
      say((out.stale ? "Stale edit: " : "") + (out.message || `The move was not saved (${res.status}).`));
      return;
    }
    window.location.reload();
  };

  // beforeOf returns the action a drop at clientY in list lands before (null: the end).
  const beforeOf = (list, y) => {
    for (const li of list.querySelectorAll(":scope > li.action")) {
      if (li === dragged) continue;
      const r = li.getBoundingClientRect();
      if (y < r.top + r.height / 2) return li;
    }
    return null;
  };
  const clearMarks = () => {
    for (const el of document.querySelectorAll(".drop-before, .drop-target")) el.classList.remove("drop-before", "drop-target");
  };

  for (const li of document.querySelectorAll("li.action[draggable=true]")) {
    li.addEventListener("dragstart", (e) => {
      dragged = li;
      li.classList.add("dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", li.dataset.action);
    });
    li.addEventListener("dragend", () => { li.classList.remove("dragging"); clearMarks(); dragged = null; });
  }
  for (const list of document.querySelectorAll("ol.action-list")) {
    list.addEventListener("dragover", (e) => {
      if (!dragged) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "move";
      clearMarks();
      list.classList.add("drop-target");
      const b = beforeOf(list, e.clientY);
      if (b) b.classList.add("drop-before");
    });
    list.addEventListener("dragleave", (e) => { if (!list.contains(e.relatedTarget)) list.classList.remove("drop-target"); });
    list.addEventListener("drop", (e) => {
      if (!dragged) return;
      e.preventDefault();
      const el = dragged, b = beforeOf(list, e.clientY);
      clearMarks();
      move(el, list.dataset.phase, b);
    });
  }
});
