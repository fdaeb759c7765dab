import pytest
from tests.customers.conftest import client_for
from tests.customers.factories import CustomerFactory
pytestmark = pytest.mark.django_db

def test_api_smoke(org):
    c = client_for(org.rep)
    r = c.post("/api/v1/customers/", {"name": "上海测试科技有限公司", "province": "上海", "tags": ["VIP"], "level": "A"}, format="json")
    assert r.status_code == 201, r.content
    cid = r.json()["id"]; print(r.json())
    r = c.get("/api/v1/customers/?search=shcs"); assert r.json()["count"] == 1, r.content
    r = c.get("/api/v1/customers/check-duplicates/?name=上海测试科技"); print(r.json()); assert r.json()["results"][0]["reasons"] == ["name"]
    r = c.post(f"/api/v1/customers/{cid}/release/", {"reason": "x"}, format="json"); assert r.status_code == 200, r.content
    r = client_for(org.rep_north).post(f"/api/v1/customers/{cid}/claim/"); assert r.status_code == 200, r.content
    r = client_for(org.rep_north).get(f"/api/v1/customers/{cid}/timeline/"); assert r.status_code == 200; print(r.json())
    r = client_for(org.director).get("/api/v1/customers/export/?level=A"); assert r.status_code == 200, r.content
    r = client_for(org.rep_north).post("/api/v1/contacts/", {"customer": cid, "name": "张三"}, format="json"); assert r.status_code == 201, r.content
    r = client_for(org.rep_north).post("/api/v1/follow-ups/", {"customer": cid, "content": "hi", "kind": "visit"}, format="json"); assert r.status_code == 201, r.content
    r = client_for(org.service).post("/api/v1/tickets/", {"customer": cid, "title": "t", "priority": "urgent"}, format="json"); assert r.status_code == 201, r.content
    tid = r.json()["id"]
    s = client_for(org.service)
    assert s.post(f"/api/v1/tickets/{tid}/assign/", {"assignee": org.service.pk}, format="json").status_code == 200
    assert s.post(f"/api/v1/tickets/{tid}/resolve/", {"resolution": "ok"}, format="json").status_code == 200
    assert s.post(f"/api/v1/tickets/{tid}/rate/", {"satisfaction": 5}, format="json").status_code == 200
    assert s.post(f"/api/v1/tickets/{tid}/close/").status_code == 200
    r = client_for(org.rep).get("/api/v1/territories/lookup/?province=上海"); assert r.status_code == 200
    r = client_for(org.rep).get("/api/v1/schema/"); assert r.status_code == 200, r.content[:2000]
