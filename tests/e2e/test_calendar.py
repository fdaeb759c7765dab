"""Book a meeting room from a phone (and a desktop): rooms → room → Book → form → the event;
the calendar page renders FullCalendar served from static/vendor."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from apps.org.models import Department, User
from apps.tasks.models import Event, MeetingRoom

from .conftest import no_horizontal_overflow

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "s3cret-pass!"


@pytest.fixture
def setup():
    dept = Department.objects.create(name="销售部")
    rep = User.objects.create_user(
        username="zhangwei", password=PASSWORD, display_name="张伟", department=dept
    )
    colleague = User.objects.create_user(
        username="liuyang", password=PASSWORD, display_name="刘洋", department=dept
    )
    for codename in ("view_event", "add_event", "change_event"):
        rep.user_permissions.add(Permission.objects.get(codename=codename))
    room = MeetingRoom.objects.create(name="洽谈室", capacity=4, equipment=["电视"])
    return rep, colleague, room


def login(page, url):
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", "zhangwei")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{url}/")


def test_book_a_room(page, live_server, setup, viewport):
    rep, colleague, room = setup
    url = live_server.url
    login(page, url)

    if viewport[0] == "phone":
        page.locator("[data-bs-toggle=offcanvas]").first.click()
    page.locator("#weft-sidebar a[href='/rooms/']").click()
    page.wait_for_url(f"{url}/rooms/")
    assert no_horizontal_overflow(page)
    page.locator(f"[data-room='{room.pk}'] a", has_text="预订").or_(
        page.locator(f"[data-room='{room.pk}'] a", has_text="Book")
    ).first.click()
    page.wait_for_url(f"{url}/calendar/new/?room={room.pk}")
    assert no_horizontal_overflow(page)

    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    page.fill("input[name=title]", "客户方案评审")
    page.fill("input[name=start]", f"{tomorrow:%Y-%m-%d}T10:00")
    page.fill("input[name=end]", f"{tomorrow:%Y-%m-%d}T11:00")
    page.select_option("select[name=attendees]", [str(colleague.pk)])
    page.locator("form.weft-event-form button[type=submit]").click()

    page.wait_for_url(f"{url}/calendar/*/")
    event = Event.objects.get()
    assert event.meeting_room == room and event.organizer == rep
    assert timezone.localtime(event.start).hour == 10
    assert list(event.attendees.all()) == [colleague]
    assert page.locator(f"[data-room='{room.pk}']").is_visible()
    assert page.locator(f"[data-attendee='{colleague.pk}']").is_visible()
    assert no_horizontal_overflow(page)

    # The calendar shows it (list view on a phone, week grid on a desktop).
    page.goto(f"{url}/calendar/")
    page.wait_for_selector(".fc")
    if timezone.localdate() + dt.timedelta(days=1) <= timezone.localdate() + dt.timedelta(
        days=6 - timezone.localdate().weekday()
    ):
        page.wait_for_selector(".fc-event, .fc-list-event", timeout=10_000)
        assert page.locator("text=客户方案评审").first.is_visible()
    assert no_horizontal_overflow(page)
