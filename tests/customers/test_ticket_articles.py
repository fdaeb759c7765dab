"""Tickets link knowledge-base articles of the library (apps.docs registers the provider):
only an article the user may see can be linked (service, form, API), the ticket page shows the
link to whoever may open the article, and the form's picker lists visible articles only."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from rest_framework.test import APIClient

from apps.customers import ticket_articles
from apps.customers.models import Ticket
from apps.customers.services import tickets as services
from apps.docs.models import Document, Visibility
from apps.org.errors import ServiceError
from apps.org.models import FieldPolicy
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(org):
    public = Document.objects.create(
        title="打印机卡纸处理", body="先关机", visibility=Visibility.EVERYONE, owner=org.ceo
    )
    private = Document.objects.create(
        title="内部报价策略", visibility=Visibility.RESTRICTED, owner=org.ceo
    )
    return public, private


@pytest.fixture
def mine(org):
    return CustomerFactory(name="上海华东机电有限公司", owner=org.rep), None


@pytest.fixture
def ticket(org, mine):
    own, _other = mine
    return services.ticket_create(customer=own, by=org.rep, data={"title": "打印机坏了"})


def test_the_library_registers_itself():
    assert ticket_articles.is_available()


def test_service_links_a_visible_article_and_refuses_a_hidden_or_missing_one(org, ticket, articles):
    public, private = articles
    services.ticket_update(ticket=ticket, by=org.rep, data={"kb_article_id": public.pk})
    ticket.refresh_from_db()
    assert ticket.kb_article_id == public.pk
    for pk in (private.pk, 999_999):
        with pytest.raises(ServiceError) as exc:
            services.ticket_update(ticket=ticket, by=org.rep, data={"kb_article_id": pk})
        assert "kb_article" in exc.value.errors
    ticket.refresh_from_db()
    assert ticket.kb_article_id == public.pk
    services.ticket_update(ticket=ticket, by=org.rep, data={"kb_article_id": None})
    ticket.refresh_from_db()
    assert ticket.kb_article_id is None


def test_api_refuses_a_hidden_article_with_400(org, mine, articles):
    own, _other = mine
    public, private = articles
    client = APIClient()
    client.force_authenticate(org.rep)
    res = client.post(
        "/api/v1/tickets/",
        {"customer": own.pk, "title": "无法打印", "kb_article": private.pk},
        format="json",
    )
    assert res.status_code == 400 and "kb_article" in res.json(), res.content
    assert not Ticket.objects.filter(title="无法打印").exists()
    res = client.post(
        "/api/v1/tickets/",
        {"customer": own.pk, "title": "无法打印", "kb_article": public.pk},
        format="json",
    )
    assert res.status_code == 201 and res.json()["kb_article"] == public.pk


def test_picker_lists_only_visible_articles(client, org, articles):
    client.force_login(org.rep)
    res = client.get("/customers/tickets/articles/pick/", {"article_q": "打印机"})
    assert res.status_code == 200 and "打印机卡纸处理" in res.content.decode()
    res = client.get("/customers/tickets/articles/pick/", {"article_q": "报价"})
    assert "内部报价策略" not in res.content.decode()
    client.force_login(org.nobody)
    assert client.get("/customers/tickets/articles/pick/", {"article_q": "x"}).status_code == 403


def test_edit_page_links_the_article_and_the_detail_page_shows_it(client, org, ticket, articles):
    public, private = articles
    client.force_login(org.rep)
    base = f"/customers/tickets/{ticket.pk}/"
    form = client.get(base + "edit/").content.decode()
    assert 'name="article_q"' in form
    res = client.post(
        base + "edit/", {"title": ticket.title, "priority": "normal", "kb_article_id": private.pk}
    )
    assert res.status_code == 200 and "knowledge-base article you can see" in res.content.decode()
    res = client.post(
        base + "edit/", {"title": ticket.title, "priority": "normal", "kb_article_id": public.pk}
    )
    assert res.status_code == 302
    body = client.get(base).content.decode()
    assert f'data-article="{public.pk}"' in body and public.get_absolute_url() in body


def test_a_link_the_editor_cannot_see_survives_their_edit(client, org, ticket, articles):
    _public, private = articles
    Ticket.objects.filter(pk=ticket.pk).update(kb_article_id=private.pk)  # linked by the ceo
    client.force_login(org.rep)
    base = f"/customers/tickets/{ticket.pk}/"
    assert "data-article" not in client.get(base).content.decode()
    form = client.get(base + "edit/").content.decode()
    assert f'value="{private.pk}" id="article-{private.pk}" checked' in form
    client.post(
        base + "edit/", {"title": "打印机又坏了", "priority": "normal", "kb_article_id": private.pk}
    )
    ticket.refresh_from_db()
    assert ticket.title == "打印机又坏了" and ticket.kb_article_id == private.pk


def test_a_restricted_article_field_is_neither_shown_nor_offered(client, org, ticket, articles):
    public, _private = articles
    Ticket.objects.filter(pk=ticket.pk).update(kb_article_id=public.pk)
    FieldPolicy.objects.create(
        content_type=ContentType.objects.get_for_model(Ticket),
        field_name="kb_article_id",
        restrict_view=True,
        restrict_change=True,
    )
    client.force_login(org.rep)
    base = f"/customers/tickets/{ticket.pk}/"
    assert "data-article" not in client.get(base).content.decode()
    assert 'name="article_q"' not in client.get(base + "edit/").content.decode()
