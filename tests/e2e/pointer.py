"""A hand on the screen: a mouse, or a finger through Chromium's DevTools touch events, and a
drag of a kanban card to a column that may be off screen (the board scrolls under it)."""

from __future__ import annotations

import time


class Mouse:
    def __init__(self, page):
        self.page = page

    def down(self, x: float, y: float) -> None:
        self.page.mouse.move(x, y)
        self.page.mouse.down()

    def move(self, x: float, y: float) -> None:
        self.page.mouse.move(x, y)

    def up(self, x: float, y: float) -> None:
        self.page.mouse.up()


class Finger:
    """Touch through Chromium's DevTools protocol: the page gets real touch events (and the
    pointer events a touch screen makes), which Playwright's API has no call for."""

    def __init__(self, page):
        self.cdp = page.context.new_cdp_session(page)

    def _send(self, kind: str, points: list) -> None:
        self.cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    def down(self, x: float, y: float) -> None:
        self._send("touchStart", [{"x": x, "y": y, "id": 1}])

    def move(self, x: float, y: float) -> None:
        self._send("touchMove", [{"x": x, "y": y, "id": 1}])

    def up(self, x: float, y: float) -> None:
        self._send("touchEnd", [])
        self.cdp.detach()


def drag_to_column(page, pointer, card, column, board) -> None:
    """Drag the card the way a hand does: press, rest (the board waits 150 ms on a touch so a
    swipe still scrolls), slide to the right edge of the board and hold there while the board
    scrolls the column into reach (the won column is off screen at both widths), then over the
    column, and let go."""
    handle = card.locator(".weft-deal-handle")  # the grip (the select and link are no grip)
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    pointer.down(x, y)
    page.wait_for_timeout(300)
    for step in range(1, 6):
        pointer.move(x + step * 2, y + step)
        page.wait_for_timeout(16)
    area = board.bounding_box()
    edge_x = min(area["x"] + area["width"], page.viewport_size["width"]) - 6
    for step in range(1, 16):
        pointer.move(x + (edge_x - x) * step / 15, y + 5)
        page.wait_for_timeout(16)
    deadline = time.monotonic() + 15
    wiggle = 0
    while True:
        goal = column.bounding_box()
        if goal["x"] + goal["width"] / 2 < edge_x - 20:  # the column's middle is in reach
            break
        assert time.monotonic() < deadline, "the board did not scroll under the pointer"
        wiggle = 1 - wiggle
        pointer.move(edge_x - wiggle, y + 5)
        page.wait_for_timeout(30)
    # Out of the edge band (the board stops scrolling), then over the column and let go.
    pointer.move(edge_x - 100, y + 5)
    page.wait_for_timeout(150)
    goal = column.bounding_box()
    target_x, target_y = goal["x"] + goal["width"] / 2, goal["y"] + 30
    for step in range(1, 11):
        pointer.move(
            edge_x - 100 + (target_x - edge_x + 100) * step / 10, y + (target_y - y) * step / 10
        )
        page.wait_for_timeout(16)
    pointer.up(target_x, target_y)
