/* Kanban drag and drop: dropping a card on a column submits the card's status form with that
 * column's status. Without JavaScript (or on a phone) the buttons on each card do the same. */
(function () {
  "use strict";
  var board = document.querySelector("[data-board]");
  if (!board) return;
  var dragged = null;
  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".weft-board-card");
    if (!card) return;
    dragged = card;
    card.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-task"));
  });
  board.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("is-dragging");
    dragged = null;
    board.querySelectorAll(".is-over").forEach(function (el) { el.classList.remove("is-over"); });
  });
  board.addEventListener("dragover", function (event) {
    var col = event.target.closest && event.target.closest(".weft-board-col");
    if (!col || !dragged) return;
    event.preventDefault();
    col.classList.add("is-over");
  });
  board.addEventListener("dragleave", function (event) {
    var col = event.target.closest && event.target.closest(".weft-board-col");
    if (col && !col.contains(event.relatedTarget)) col.classList.remove("is-over");
  });
  board.addEventListener("drop", function (event) {
    var col = event.target.closest && event.target.closest(".weft-board-col");
    if (!col || !dragged) return;
    event.preventDefault();
    var status = col.getAttribute("data-status");
    var form = dragged.querySelector("form[data-move]");
    if (!form || dragged.closest(".weft-board-col") === col) return;
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "status";
    input.value = status;
    form.appendChild(input);
    form.submit();
  });
})();
