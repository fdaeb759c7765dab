"""A person signs in on a desktop and on a phone, moves around, and nothing overflows."""

from __future__ import annotations

import pytest

from apps.org.models import Department, User

from .conftest import no_horizontal_overflow

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def person():
    dept = Department.objects.create(name="销售部")
    user = User.objects.create_user(
        username="zhangwei",
        password="s3cret-pass!",
        display_name="张伟",
        department=dept,
        title="销售代表",
    )
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="view_user"))
    return user


def sign_in(page, live_server, username="zhangwei", password="s3cret-pass!"):  # noqa: S107
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url  # anonymous visitors are sent to sign in
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{live_server.url}/")


def open_menu_if_phone(page, viewport_name):
    if viewport_name == "phone":
        toggle = page.locator("[data-bs-toggle=offcanvas]").first
        assert toggle.is_visible()
        toggle.click()


def test_sign_in_and_navigate(page, viewport, live_server, person):
    name, _size = viewport
    sign_in(page, live_server)
    assert page.get_by_role("heading").filter(has_text="张伟").first.is_visible()
    assert no_horizontal_overflow(page)

    open_menu_if_phone(page, name)
    link = page.locator("#weft-sidebar a[href='/org/people/']")
    link.click()
    page.wait_for_url(f"{live_server.url}/org/people/")
    assert page.locator("table").get_by_text("zhangwei").first.is_visible()
    assert no_horizontal_overflow(page)

    open_menu_if_phone(page, name)
    page.locator("#weft-sidebar a[href='/notifications/']").click()
    page.wait_for_url(f"{live_server.url}/notifications/")
    assert no_horizontal_overflow(page)

    page.goto(f"{live_server.url}/profile/")
    assert page.locator("input[name=display_name]").input_value() == "张伟"
    assert no_horizontal_overflow(page)


def test_wrong_password_shows_error(page, live_server, person):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "zhangwei")
    page.fill("input[name=password]", "wrong")
    page.locator("form button[type=submit]").first.click()
    assert "/accounts/login/" in page.url
    assert page.locator(".alert-danger, .invalid-feedback, .errorlist").first.is_visible()
    assert no_horizontal_overflow(page)
