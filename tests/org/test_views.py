"""Shell pages: sign-in, home, profile, language, people directory, sharing page, errors."""

from __future__ import annotations

import pytest
from django.test import Client
from guardian.shortcuts import get_perms

from apps.org.models import Scope, User
from tests.org.factories import PASSWORD, DepartmentFactory, UserFactory, make_role
from tests.studio.factories import RecordFactory
from tests.testapp.models import Record

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def directory_user(**kwargs) -> User:
    user = UserFactory(**kwargs)
    make_role("staff", User, actions=("view",), members=[user])
    return user


class TestSignIn:
    def test_anonymous_is_sent_to_sign_in(self):
        response = Client().get("/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")

    def test_sign_in_and_out(self, user):
        client = Client()
        response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
        assert response.status_code == 302 and response["Location"] == "/"
        assert client.get("/").status_code == 200
        assert client.post("/accounts/logout/").status_code == 302
        assert client.get("/").status_code == 302

    def test_wrong_password_is_a_form_error(self, user):
        response = Client().post("/accounts/login/", {"username": "alice", "password": "nope"})
        assert response.status_code == 200
        assert response.context["form"].non_field_errors()

    def test_lockout_after_five_failures(self, user):
        client = Client()
        for _ in range(5):
            client.post("/accounts/login/", {"username": "alice", "password": "nope"})
        response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
        assert response.status_code == 429
        assert b"Too many failed sign-in attempts" in response.content
        assert "_auth_user_id" not in client.session


class TestHomeAndProfile:
    def test_home_renders_with_constant_queries(self, user, django_assert_max_num_queries):
        client = logged_in(user)
        # +1 since the to-do inbox: its badge and home card share one COUNT per kind.
        with django_assert_max_num_queries(13):
            response = client.get("/")
        assert response.status_code == 200
        assert user.display_name.encode() in response.content

    def test_profile_saves_through_the_service(self, user):
        client = logged_in(user)
        response = client.post(
            "/profile/",
            {
                "display_name": "Alice Wang",
                "email": "a@example.com",
                "mobile": "13800000000",
                "title": "Rep",
                "language": "en",
            },
        )
        assert response.status_code == 302
        user.refresh_from_db()
        assert (user.display_name, user.language, user.title) == ("Alice Wang", "en", "Rep")

    def test_profile_bad_email_is_a_form_error_and_changes_nothing(self, user):
        client = logged_in(user)
        response = client.post(
            "/profile/", {"display_name": "X", "email": "not-an-email", "language": ""}
        )
        assert response.status_code == 200
        assert "email" in response.context["form"].errors
        user.refresh_from_db()
        assert user.display_name == "Alice"

    def test_password_change(self, user):
        client = logged_in(user)
        response = client.post(
            "/accounts/password/",
            {
                "old_password": PASSWORD,
                "new_password1": "A-much-better-pass-42",
                "new_password2": "A-much-better-pass-42",
            },
        )
        assert response.status_code == 302
        user.refresh_from_db()
        assert user.check_password("A-much-better-pass-42")


class TestLanguage:
    def test_switch_saves_on_the_user_and_sets_the_cookie(self, user):
        client = logged_in(user)
        response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/profile/"})
        assert response.status_code == 302 and response["Location"] == "/profile/"
        assert response.cookies["django_language"].value == "zh-hans"
        user.refresh_from_db()
        assert user.language == "zh-hans"

    def test_saved_language_wins_over_the_browser(self, user):
        user.language = "zh-hans"
        user.save()
        response = logged_in(user).get("/", HTTP_ACCEPT_LANGUAGE="en")
        assert response.headers["Content-Language"] == "zh-hans"

    def test_unknown_language_and_foreign_next_change_nothing(self, user):
        client = logged_in(user)
        response = client.post(
            "/i18n/setlang/", {"language": "xx", "next": "https://evil.example.com/"}
        )
        assert response["Location"] == "/"
        user.refresh_from_db()
        assert user.language == ""


class TestPeople:
    def test_needs_the_view_permission(self, user):
        assert logged_in(user).get("/org/people/").status_code == 403

    def test_lists_and_filters(self):
        sales = DepartmentFactory(name="Sales")
        viewer = directory_user(username="viewer", department=sales)
        UserFactory(username="zhang", display_name="张伟", department=sales, title="Rep")
        UserFactory(username="li", display_name="李娜", title="Director")
        client = logged_in(viewer)
        names = [u.username for u in client.get("/org/people/").context["page"]]
        assert {"viewer", "zhang", "li"} <= set(names)
        found = client.get("/org/people/", {"q": "张"}).context["page"]
        assert [u.username for u in found] == ["zhang"]
        found = client.get("/org/people/", {"department": sales.pk}).context["page"]
        assert {u.username for u in found} == {"viewer", "zhang"}

    def test_query_count_does_not_grow_with_rows(self, django_assert_num_queries):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        sales = DepartmentFactory(name="Sales")
        viewer = directory_user(username="viewer", department=sales)
        boss = UserFactory(username="boss", department=sales)
        client = logged_in(viewer)
        client.get("/org/people/")  # warm caches (content types, permissions)

        def count() -> int:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get("/org/people/").status_code == 200
            return len(ctx.captured_queries)

        for i in range(3):
            UserFactory(username=f"a{i}", department=sales, manager=boss)
        few = count()
        for i in range(30):
            UserFactory(username=f"b{i}", department=sales, manager=boss)
        assert count() == few


class TestSharingPage:
    @pytest.fixture
    def org(self):
        east = DepartmentFactory(name="east")
        owner = UserFactory(username="owner", department=east)
        peer = UserFactory(username="peer", department=DepartmentFactory(name="west"))
        viewer = UserFactory(username="viewer", department=east)
        make_role(
            "reps", Record, actions=("view", "change"), scope=Scope.OWN, members=[owner, peer]
        )
        make_role("viewers", Record, actions=("view",), scope=Scope.ALL, members=[viewer])
        record = RecordFactory(owner=owner, department=east)
        return {"owner": owner, "peer": peer, "viewer": viewer, "record": record}

    def url(self, record) -> str:
        return f"/org/share/testapp/record/{record.pk}/"

    def test_owner_shares_and_unshares(self, org):
        client = logged_in(org["owner"])
        assert client.get(self.url(org["record"])).status_code == 200
        response = client.post(
            self.url(org["record"]), {"user": org["peer"].pk, "action": "view", "op": "add"}
        )
        assert response.status_code == 302
        assert get_perms(org["peer"], org["record"]) == ["view_record"]
        assert Record.objects.visible_to(User.objects.get(pk=org["peer"].pk)).count() == 1
        client.post(self.url(org["record"]), {"user": org["peer"].pk, "op": "remove"})
        assert get_perms(org["peer"], org["record"]) == []

    def test_out_of_scope_is_404_and_read_only_is_403(self, org):
        assert logged_in(org["peer"]).get(self.url(org["record"])).status_code == 404
        response = logged_in(org["viewer"]).post(
            self.url(org["record"]), {"user": org["peer"].pk, "op": "add"}
        )
        assert response.status_code == 403
        assert get_perms(org["peer"], org["record"]) == []

    def test_unknown_model_is_404(self, org):
        client = logged_in(org["owner"])
        assert client.get("/org/share/nope/none/1/").status_code == 404
        assert client.get("/org/share/org/department/1/").status_code == 404

    def test_bad_input_is_a_message_not_a_500(self, org):
        client = logged_in(org["owner"])
        response = client.post(self.url(org["record"]), {"op": "add"}, follow=True)
        assert response.status_code == 200
        assert get_perms(org["peer"], org["record"]) == []
        messages = [str(m) for m in response.context["messages"]]
        assert any("exactly one user or one role" in m for m in messages)


class TestErrorPages:
    def test_404_page(self, user):
        response = logged_in(user).get("/no/such/page/")
        assert response.status_code == 404
        assert b"Page not found" in response.content

    def test_500_page_renders_without_a_request_context(self):
        from django.test import RequestFactory

        from apps.org.views import error_500

        response = error_500(RequestFactory().get("/"))
        assert response.status_code == 500
        assert b"Something went wrong" in response.content


def test_pager_elides_distant_pages():
    from django.core.paginator import Paginator
    from django.template import RequestContext, Template
    from django.test import RequestFactory

    page = Paginator(range(10_000), 10).get_page(500)
    request = RequestFactory().get("/x/", {"q": "a"})
    html = Template('{% include "includes/pagination.html" %}').render(
        RequestContext(request, {"page": page})
    )
    assert "?q=a&amp;page=499" in html and "?q=a&amp;page=501" in html
    assert "?q=a&amp;page=1000" in html and "page=250" not in html
    assert html.count("…") == 2
