"""A sales rep drags a deal across the kanban board (desktop: SortableJS drag; phone: the
card's stage picker), and a drop on the lost column asks for the reason first."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission

from apps.customers.models import Customer
from apps.org.models import Department, Scope, User
from apps.org.services import role_scope_set
from apps.sales.models import Opportunity, StageChange
from apps.sales.services.deals import opportunity_create
from tests.sales.factories import PipelineFactory

from .conftest import no_horizontal_overflow
from .pointer import Finger, Mouse

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "s3cret-pass!"


@pytest.fixture
def deal():
    dept = Department.objects.create(name="销售部")
    rep = User.objects.create_user(
        username="zhangwei", password=PASSWORD, display_name="张伟", department=dept
    )
    role = Group.objects.create(name="销售")
    codenames = [
        "view_customer",
        "view_opportunity",
        "add_opportunity",
        "change_opportunity",
        "view_quote",
        "view_product",
    ]
    role.permissions.add(*Permission.objects.filter(codename__in=codenames))
    role_scope_set(role=role, model=Customer, scope=Scope.OWN)
    role_scope_set(role=role, model=Opportunity, scope=Scope.OWN)
    rep.groups.add(role)
    PipelineFactory(name="直销", is_default=True, with_stages=True)
    customer = Customer.objects.create(
        name="上海华东机电有限公司", name_normalized="上海华东机电", owner=rep, department=dept
    )
    return opportunity_create(
        by=rep, data={"name": "华东机电 CRM 项目", "customer": customer, "amount": Decimal(80000)}
    )


def sign_in(page, url):
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", "zhangwei")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{url}/")


def drag(page, source, target):
    """A pointer drag the way a hand does it (SortableJS's fallback listens to pointer moves)."""
    box = source.bounding_box()
    goal = target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 12)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 10, box["y"] + 20, steps=5)
    page.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + 20, steps=20)
    page.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + 30, steps=5)
    page.mouse.up()


def stage_pk(name):
    return Opportunity.objects.model.stage.field.related_model.objects.get(name=name).pk


def test_drag_a_deal_across_the_board(page, viewport, live_server, deal):
    url = live_server.url
    sign_in(page, url)
    page.goto(f"{url}/sales/opportunities/board/")
    assert no_horizontal_overflow(page)
    card = page.locator(f"#deal-{deal.pk}")
    card.wait_for()
    target_pk = stage_pk("需求确认")
    lost_pk = stage_pk("输单")

    if viewport[0] == "desktop":
        drag(page, card, page.locator(f".weft-board-cards[data-stage='{target_pk}']"))
    else:  # a phone: the card's own stage picker (the board scrolls sideways)
        card.locator("select[name=stage]").select_option(str(target_pk))
    page.locator(
        f".weft-board-cards[data-stage='{target_pk}'] #deal-{deal.pk}[data-stage='{target_pk}']"
    ).wait_for()
    page.locator(f"#stage-head-{target_pk} [data-count='1']").wait_for()
    deal.refresh_from_db()
    assert deal.stage_id == target_pk and deal.probability == 30
    assert StageChange.objects.filter(opportunity=deal).count() == 2

    # To the lost column (off screen to the right: the card's picker): the reason is asked
    # first; the deal closes as lost with it.
    card = page.locator(f"#deal-{deal.pk}")
    card.locator("select[name=stage]").select_option(str(lost_pk))
    page.locator("#lost-reason-input").wait_for(state="visible")
    page.fill("#lost-reason-input", "预算取消")
    page.locator("#lost-reason-form button[type=submit]").click()
    page.locator(f"#deal-{deal.pk}[data-status='lost']").wait_for()
    deal.refresh_from_db()
    assert deal.status == "lost" and deal.lost_reason == "预算取消"
    assert no_horizontal_overflow(page)


def test_a_held_card_scrolls_the_board_only_while_at_the_edge(page, viewport, live_server, deal):
    """Issue #9: the columns off screen come into reach by holding the dragged card at the
    board's edge, and the board stops as soon as the card leaves the edge (SortableJS's own
    auto-scroll went on to the last column: a phone user could not stop on "won")."""
    url = live_server.url
    sign_in(page, url)
    page.goto(f"{url}/sales/opportunities/board/")
    board = page.locator("#weft-board")
    card = page.locator(f"#deal-{deal.pk}")
    card.wait_for()
    scroll_left = "b => b.scrollLeft"
    assert board.evaluate("b => b.scrollWidth > b.clientWidth")  # six columns never fit
    assert board.evaluate(scroll_left) == 0

    pointer = Mouse(page) if viewport[0] == "desktop" else Finger(page)
    box = card.locator(".weft-deal-handle").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    pointer.down(x, y)
    page.wait_for_timeout(300)  # a touch rests first (the board's touch delay)
    for step in range(1, 6):
        pointer.move(x + step * 2, y + step)
        page.wait_for_timeout(16)
    area = board.bounding_box()
    edge_x = min(area["x"] + area["width"], page.viewport_size["width"]) - 6
    for step in range(1, 11):
        pointer.move(x + (edge_x - x) * step / 10, y + 5)
        page.wait_for_timeout(16)
    page.wait_for_timeout(300)  # held at the edge
    assert board.evaluate(scroll_left) > 100

    pointer.move(edge_x - 120, y + 5)  # away from the edge: the board stays where it is
    page.wait_for_timeout(100)
    stopped = board.evaluate(scroll_left)
    page.wait_for_timeout(400)
    assert board.evaluate(scroll_left) == stopped
    assert board.evaluate("b => b.classList.contains('weft-board-dragging')")

    # Let go: the card lands in the column under the pointer, saved on the server.
    target = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('.weft-board-col').dataset.stage",
        [edge_x - 120, y + 5],
    )
    assert target not in (str(deal.stage_id), str(stage_pk("输单")))
    pointer.up(edge_x - 120, y + 5)
    page.locator(
        f".weft-board-cards[data-stage='{target}'] #deal-{deal.pk}[data-stage='{target}']"
    ).wait_for()
    assert not board.evaluate("b => b.classList.contains('weft-board-dragging')")
    deal.refresh_from_db()
    assert str(deal.stage_id) == target
