/* The deals kanban board: drag a card to another stage (SortableJS, mouse and touch), or pick
 * the stage in the card's select (keyboard, small screens). Either way the card's own form is
 * posted through htmx (`weft:move` trigger) and the answer replaces the card and refreshes the
 * two column heads (out-of-band swaps). A lost stage asks for the reason first; a refused move
 * (400/403) puts the card back and shows the server's message. No inline scripts (CSP).
 */
(function () {
  "use strict";

  var board = document.getElementById("weft-board");
  if (!board) {
    return;
  }
  var message = document.getElementById("board-message");
  var modalEl = document.getElementById("lost-reason-modal");
  var reasonForm = document.getElementById("lost-reason-form");
  var reasonInput = document.getElementById("lost-reason-input");
  var pending = null; // {form, stage, revert}

  function showMessage(text) {
    if (!message) {
      return;
    }
    message.textContent = text;
    message.classList.toggle("d-none", !text);
  }

  function container(stage) {
    return board.querySelector('.weft-board-cards[data-stage="' + stage + '"]');
  }

  function isLost(stage) {
    var col = board.querySelector('.weft-board-col[data-stage="' + stage + '"]');
    return col && col.getAttribute("data-lost") === "1";
  }

  function send(form, stage, reason, revert) {
    var select = form.querySelector('select[name="stage"]');
    var reasonField = form.querySelector('input[name="reason"]');
    select.value = stage;
    reasonField.value = reason || "";
    form._weftRevert = revert;
    showMessage("");
    window.htmx.trigger(form, "weft:move");
  }

  function move(form, stage, revert) {
    if (isLost(stage) && modalEl && window.bootstrap) {
      pending = { form: form, stage: stage, revert: revert, done: false };
      reasonInput.value = "";
      window.bootstrap.Modal.getOrCreateInstance(modalEl).show();
      return;
    }
    send(form, stage, "", revert);
  }

  if (modalEl) {
    modalEl.addEventListener("shown.bs.modal", function () { reasonInput.focus(); });
    modalEl.addEventListener("hidden.bs.modal", function () {
      if (pending && !pending.done && pending.revert) {
        pending.revert();
      }
      pending = null;
    });
    reasonForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var reason = reasonInput.value.trim();
      if (!reason || !pending) {
        reasonInput.classList.add("is-invalid");
        return;
      }
      reasonInput.classList.remove("is-invalid");
      pending.done = true;
      send(pending.form, pending.stage, reason, pending.revert);
      window.bootstrap.Modal.getOrCreateInstance(modalEl).hide();
    });
  }

  // While a card is dragged, holding it near the left or right edge of the board scrolls the
  // board (faster nearer the edge) and only while it is held there: the columns off screen
  // (most of them on a phone) come into reach. Scroll snapping is off meanwhile, or it would
  // pull each small step back to the column the board started from.
  var edgeScroll = (function () {
    var EDGE = 56; // px: a finger is wide
    var MAX_STEP = 14; // px per frame at the very edge
    var x = null;
    var frame = 0;

    function track(event) {
      var point = event.touches && event.touches.length ? event.touches[0] : event;
      if (point && typeof point.clientX === "number") {
        x = point.clientX;
      }
    }

    function step() {
      frame = 0;
      if (x !== null) {
        var rect = board.getBoundingClientRect();
        var left = Math.max(rect.left, 0);
        var right = Math.min(rect.right, window.innerWidth);
        var dx = 0;
        if (x > right - EDGE) {
          dx = Math.ceil(MAX_STEP * Math.min(1, (x - (right - EDGE)) / EDGE));
        } else if (x < left + EDGE) {
          dx = -Math.ceil(MAX_STEP * Math.min(1, (left + EDGE - x) / EDGE));
        }
        if (dx) {
          board.scrollLeft += dx;
        }
      }
      frame = window.requestAnimationFrame(step);
    }

    return {
      start: function () {
        x = null;
        board.classList.add("weft-board-dragging");
        document.addEventListener("pointermove", track, true);
        document.addEventListener("touchmove", track, { capture: true, passive: true });
        document.addEventListener("mousemove", track, true);
        frame = window.requestAnimationFrame(step);
      },
      stop: function () {
        document.removeEventListener("pointermove", track, true);
        document.removeEventListener("touchmove", track, { capture: true, passive: true });
        document.removeEventListener("mousemove", track, true);
        if (frame) {
          window.cancelAnimationFrame(frame);
          frame = 0;
        }
        x = null;
        board.classList.remove("weft-board-dragging");
      }
    };
  })();

  // Drag and drop between columns.
  if (board.getAttribute("data-can-move") === "1" && window.Sortable) {
    board.querySelectorAll(".weft-board-cards").forEach(function (el) {
      window.Sortable.create(el, {
        group: "deals",
        draggable: ".weft-deal-card",
        filter: "select, input, a, button",
        preventOnFilter: false,
        forceFallback: true,      // the same pointer-driven drag on mouse and touch screens
        fallbackTolerance: 4,
        delayOnTouchOnly: true,
        delay: 150,               // a touch must rest briefly: scrolling the page still works
        animation: 120,
        ghostClass: "weft-deal-ghost",
        chosenClass: "weft-deal-chosen",
        // The board scrolls itself under a dragged card (edgeScroll below): SortableJS's
        // auto-scroll, in the fallback mode used here, goes on scrolling after the pointer
        // has left the edge, so a phone user could not stop on the column they wanted.
        scroll: false,
        onStart: function () {
          edgeScroll.start();
        },
        onEnd: function (evt) {
          edgeScroll.stop();
          if (evt.from === evt.to) {
            return;
          }
          var card = evt.item;
          var form = card.querySelector("form.weft-deal-move");
          if (!form) {
            return;
          }
          var from = evt.from;
          var oldIndex = evt.oldIndex;
          var revert = function () {
            var ref = from.children[oldIndex] || null;
            from.insertBefore(card, ref);
          };
          move(form, evt.to.getAttribute("data-stage"), revert);
        }
      });
    });
  }

  // The select in each card: the same move without dragging.
  board.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select.weft-deal-stage")) {
      return;
    }
    var form = select.form;
    var card = form.closest(".weft-deal-card");
    var previous = card.getAttribute("data-stage");
    var stage = select.value;
    select.value = previous;
    move(form, stage, function () { select.value = previous; });
  });

  // A refused move: put the card back, say why (instead of the generic toast).
  board.addEventListener("htmx:responseError", function (event) {
    var form = event.detail.elt;
    if (!form || !form.classList.contains("weft-deal-move")) {
      return;
    }
    event.stopPropagation();
    if (form._weftRevert) {
      form._weftRevert();
    }
    showMessage(event.detail.xhr.responseText || "");
  });

  // A moved card lands in its stage's column (after a select move or a "more" load).
  document.addEventListener("htmx:load", function (event) {
    var card = event.target;
    if (!card.classList || !card.classList.contains("weft-deal-card")) {
      return;
    }
    var target = container(card.getAttribute("data-stage"));
    if (target && card.parentElement !== target) {
      target.insertBefore(card, target.firstChild);
    }
  });
})();
