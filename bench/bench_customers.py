"""Customers (issue 3): API list, search and 360° data at 1M customers / 3M contacts / 5M
follow-ups on PostgreSQL.

1. Generation (skipped for rows that exist): customers, contacts and follow-ups are written
   with COPY (psycopg's `cursor.copy`) in batches, with ids assigned here so the three tables
   are written in one pass. Normalised names and pinyin keys are computed in Python per name
   component (city, two brand words, trade; cached), which for these all-hanzi names equals
   `normalize_name`/`pinyin_keys` of the whole name except where pypinyin's phrase table would
   read across a component boundary. One rep owns 10,000 customers (the "filtered scope"); the
   rest spread over 100 owners. ANALYZE follows, as autovacuum would.
2. Measurements (server time through django.test.Client with token auth, so each request loads
   its user and permissions like a real client):
   - GET /api/v1/customers/ (first page of 20): the rep (10k visible) and a boss with the "all"
     scope (1M visible); queries per request;
   - the same 20 rows plus the count built by one PostgreSQL json_agg query: the floor;
   - global search (`apps.customers.search.global_search`) by name substring, name prefix,
     pinyin, initials and phone, as the boss and as the rep; and `?search=` on the API;
   - `customer_360` (the 360° page's data) for a customer with 3 contacts and 5 follow-ups:
     queries and p95.

Scale: BENCH_SCALE (default 1 = 1M customers); e.g. BENCH_SCALE=0.01 for a quick check.
The generated rows are kept for the next run (they take minutes to make); BENCH_CLEAN=1
deletes them at the end. Run it on a dedicated database.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import time
from functools import cache

from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token

from apps.customers.demo import CORES
from apps.customers.models import Contact, Customer, FollowUp
from apps.customers.normalize import pinyin_keys
from apps.customers.search import global_search
from apps.customers.selectors import customer_360
from apps.org.models import Department, User
from apps.org.services import role_scope_set

from .util import report, timed

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
N_CUSTOMERS = max(1000, int(1_000_000 * SCALE))
CONTACTS_PER = 3
FOLLOW_UPS_PER = 5
REP_ROWS = min(10_000, N_CUSTOMERS // 2)
N_OWNERS = 100
BATCH = 20_000
PREFIX = "benchcust"

CITIES = [
    "上海",
    "北京",
    "天津",
    "重庆",
    "南京",
    "苏州",
    "无锡",
    "常州",
    "杭州",
    "宁波",
    "温州",
    "嘉兴",
    "合肥",
    "芜湖",
    "石家庄",
    "保定",
    "唐山",
    "太原",
    "大同",
    "广州",
    "深圳",
    "东莞",
    "佛山",
    "成都",
    "绵阳",
    "武汉",
    "宜昌",
    "济南",
    "青岛",
    "烟台",
    "福州",
    "厦门",
    "郑州",
    "洛阳",
    "长沙",
    "株洲",
    "西安",
    "沈阳",
    "大连",
    "长春",
    "哈尔滨",
    "南昌",
    "南宁",
    "海口",
    "贵阳",
    "昆明",
    "兰州",
    "银川",
]
# The same company-name words as the demo data, so benchmark names look alike.
WORDS = list(CORES)
TRADES = [
    "机电",
    "精密制造",
    "模具",
    "自动化设备",
    "新材料",
    "软件",
    "信息技术",
    "网络科技",
    "数据服务",
    "智能科技",
    "投资管理",
    "融资租赁",
    "商贸",
    "电子商务",
    "教育科技",
    "医疗器械",
    "生物医药",
    "建筑工程",
    "置业",
    "物流",
    "供应链管理",
    "新能源",
    "电力设备",
    "环保科技",
    "咨询",
    "人力资源",
    "广告传媒",
    "实业",
    "贸易",
    "食品",
    "纺织",
    "化工",
    "包装",
    "印刷",
    "家居",
    "汽车配件",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙"  # noqa: E501
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "建华",
    "建国",
    "晓明",
    "海燕",
    "志强",
    "国平",
    "文博",
    "子涵",
    "雨桐",
    "浩然",
    "思远",
    "佳怡",
    "宇轩",
    "欣怡",
    "俊杰",
    "丹",
    "鹏",
    "晨",
    "三",
    "四",
    "五",
]
LEVELS = ["A", "B", "B", "C", "C", "C", "D", "D"]
STATUSES = ["potential", "following", "following", "signed", "lost"]
INDUSTRIES = ["manufacturing", "it", "finance", "retail", "healthcare", "logistics", "services"]
KINDS = ["call", "call", "visit", "meeting", "wechat", "email"]


@cache
def keys(word: str) -> tuple[str, str]:
    return pinyin_keys(word)


def name_parts(i: int) -> tuple[str, str, str, str]:
    """The i-th unique (city, word, word, trade) combination, spread by a fixed stride."""
    total = len(CITIES) * len(WORDS) * len(WORDS) * len(TRADES)
    n = (i * 7_919) % total  # 7919 is prime and does not divide `total`: a permutation
    n, t = divmod(n, len(TRADES))
    n, w2 = divmod(n, len(WORDS))
    c, w1 = divmod(n, len(WORDS))
    return CITIES[c], WORDS[w1], WORDS[w2], TRADES[t]


def main() -> None:
    if connection.vendor != "postgresql":
        print("bench_customers needs PostgreSQL (DATABASE_URL=postgres://...); skipped.")
        return
    assert N_CUSTOMERS <= len(CITIES) * len(WORDS) ** 2 * len(TRADES)
    users = _users()
    t0 = time.perf_counter()
    made = _generate(users)
    if made:
        print(
            f"generated {made:,} customers (+contacts, follow-ups) "
            f"in {time.perf_counter() - t0:.0f} s"
        )
        with connection.cursor() as cursor:
            # As autovacuum would: statistics, and the visibility map index-only scans need.
            cursor.execute(
                "VACUUM ANALYZE customers_customer, customers_contact, customers_followup, "
                "customers_customer_tags"
            )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_customer")
        total = cursor.fetchone()[0]
    print(f"customers in the database: {total:,} (scale {SCALE})")
    if os.environ.get("BENCH_GENERATE_ONLY"):
        return
    try:
        _measure(users)
    finally:
        if os.environ.get("BENCH_CLEAN"):
            _cleanup()


# --- set-up -----------------------------------------------------------------------------------


def _role(name: str, scope: str) -> Group:
    from apps.org.demo import grant_perms

    role, _created = Group.objects.get_or_create(name=f"{PREFIX}-{name}")
    grant_perms(
        role,
        [
            "customers.view_customer",
            "customers.view_contact",
            "customers.view_followup",
            "customers.view_ticket",
        ],
    )
    for model in (Customer, Contact, FollowUp):
        role_scope_set(role=role, model=model, scope=scope)
    return role


def _users() -> dict:
    dept, _created = Department.objects.get_or_create(name=f"{PREFIX}-sales", parent=None)
    reps, boss_role = _role("reps", "own"), _role("all", "all")

    def user(name, role):
        u, _created = User.objects.get_or_create(
            username=f"{PREFIX}-{name}", defaults={"department": dept, "display_name": name}
        )
        u.groups.add(role)
        return u

    owners = [user(f"owner{k}", reps) for k in range(N_OWNERS)]
    return {"rep": owners[0], "owners": owners, "boss": user("boss", boss_role), "dept": dept}


def _columns(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position",
            [table],
        )
        return [r[0] for r in cursor.fetchall() if r[0] != "id"]


def _copy(table: str, columns: list[str], rows: list[dict]) -> None:
    raw = connection.connection  # the psycopg connection behind Django's
    with raw.cursor() as cursor:
        sql = f"COPY {table} (id, {', '.join(columns)}) FROM STDIN"  # noqa: S608 - fixed names
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([row["id"], *[row.get(c) for c in columns]])


def _next_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")  # noqa: S608
        return cursor.fetchone()[0]


def _generate(users) -> int:
    existing = Customer.objects.filter(name__startswith="bench·").count()
    if existing >= N_CUSTOMERS:
        return 0
    rng = random.Random(42)  # noqa: S311 - synthetic data
    now = timezone.now()
    owners = users["owners"]
    dept_id = users["dept"].pk
    cust_cols = _columns("customers_customer")
    contact_cols = _columns("customers_contact")
    fu_cols = _columns("customers_followup")
    cust_id, contact_id, fu_id = (
        _next_id("customers_customer"),
        _next_id("customers_contact"),
        _next_id("customers_followup"),
    )
    defaults_c = {c: "" for c in cust_cols}
    defaults_c.update(
        custom="{}",
        satisfaction_count=0,
        owner_id=None,
        department_id=None,
        territory_id=None,
        created_by_id=None,
        owned_since=None,
        last_contacted_at=None,
        next_follow_up_at=None,
        pool_entered_at=None,
        previous_owner_id=None,
        recycle_warned_at=None,
        satisfaction_avg=None,
        last_satisfaction=None,
    )
    defaults_k = {c: "" for c in contact_cols}
    defaults_k.update(custom="{}", reports_to_id=None, created_by_id=None, is_primary=False)
    made = 0
    for start in range(existing, N_CUSTOMERS, BATCH):
        customers, contacts, follow_ups = [], [], []
        for i in range(start, min(start + BATCH, N_CUSTOMERS)):
            city, w1, w2, trade = name_parts(i)
            key = f"{city}{w1}{w2}{trade}"
            full = "".join(keys(p)[0] for p in (city, w1, w2, trade))
            initials = "".join(keys(p)[1] for p in (city, w1, w2, trade))
            owner = owners[0] if i < REP_ROWS else owners[1 + i % (N_OWNERS - 1)]
            created = now - dt.timedelta(minutes=rng.randint(60, 2 * 365 * 1440))
            digits = f"0{rng.randint(10, 999)}{rng.randint(10_000_000, 99_999_999)}"
            row = dict(defaults_c)
            row.update(
                id=cust_id,
                name=f"bench·{key}有限公司",
                name_normalized=f"bench{key}",  # normalize_name of the stored name
                name_pinyin=f"bench{full}"[:300],
                name_initials=f"bench{initials}"[:100],
                industry=rng.choice(INDUSTRIES),
                source="other",
                level=rng.choice(LEVELS),
                status=rng.choice(STATUSES),
                province=city,
                city=city,
                phone=digits,
                phone_digits=digits,
                email=f"c{cust_id}@{initials}.cn",
                owner_id=owner.pk,
                department_id=dept_id,
                created_at=created,
                updated_at=created,
                owned_since=created,
            )
            first_contact = contact_id
            for k in range(CONTACTS_PER):
                name = rng.choice(SURNAMES) + rng.choice(GIVEN)
                cfull, cinit = keys(name)
                contact = dict(defaults_k)
                contact.update(
                    id=contact_id,
                    customer_id=cust_id,
                    name=name,
                    name_pinyin=cfull,
                    name_initials=cinit,
                    title="经理",
                    mobile=f"13{rng.randint(100_000_000, 999_999_999)}",
                    email=f"{cfull}{contact_id}@{initials}.cn",
                    is_primary=k == 0,
                    reports_to_id=first_contact if k else None,
                    created_at=created,
                    updated_at=created,
                )
                contacts.append(contact)
                contact_id += 1
            last = None
            for _k in range(FOLLOW_UPS_PER):
                at = created + dt.timedelta(
                    minutes=rng.randint(0, max(1, int((now - created).total_seconds() // 60)))
                )
                last = at if last is None or at > last else last
                follow_ups.append(
                    {
                        "id": fu_id,
                        "customer_id": cust_id,
                        "contact_id": first_contact + rng.randrange(CONTACTS_PER),
                        "opportunity_id": None,
                        "kind": rng.choice(KINDS),
                        "content": "电话沟通采购计划，客户希望下周收到报价。",
                        "occurred_at": at,
                        "next_step": "发送报价",
                        "next_follow_up_at": None,
                        "reminded_at": at,
                        "owner_id": owner.pk,
                        "created_at": at,
                    }
                )
                fu_id += 1
            row["last_contacted_at"] = last
            row["updated_at"] = last or created
            customers.append(row)
            cust_id += 1
        _copy("customers_customer", cust_cols, customers)
        _copy("customers_contact", contact_cols, contacts)
        _copy("customers_followup", fu_cols, follow_ups)
        made += len(customers)
        print(f"  … {start + len(customers):,} customers", flush=True)
    with connection.cursor() as cursor:
        for table in ("customers_customer", "customers_contact", "customers_followup"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"
            )
    return made


def _cleanup() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM customers_followup WHERE customer_id IN "
            "(SELECT id FROM customers_customer WHERE name LIKE 'bench·%%')"
        )
        cursor.execute(
            "DELETE FROM customers_contact WHERE customer_id IN "
            "(SELECT id FROM customers_customer WHERE name LIKE 'bench·%%')"
        )
        cursor.execute("DELETE FROM customers_customer WHERE name LIKE 'bench·%%'")
    print("bench rows deleted")


# --- measurements -----------------------------------------------------------------------------


def _client(user) -> Client:
    token, _created = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def _get(client, url, params=None):
    response = client.get(url, params or {})
    assert response.status_code == 200, response.content[:500]
    return response


def _queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


# The API counts exactly up to WEFT_EXACT_COUNT_LIMIT (20,000) rows and estimates above; the
# floor does the same capped count in SQL, plus the page's rows as JSON.
JSON_AGG = """
SELECT (SELECT count(*) FROM (SELECT 1 FROM customers_customer c WHERE {where}
                              LIMIT 20001) capped),
       (SELECT json_agg(t) FROM (
            SELECT c.id, c.name, c.industry, c.source, c.level, c.status, c.province, c.city,
                   c.region, c.address, c.phone, c.email, c.website, c.description,
                   ARRAY(SELECT tg.name FROM customers_customer_tags ct
                         JOIN customers_tag tg ON tg.id = ct.tag_id
                         WHERE ct.customer_id = c.id ORDER BY tg.name) AS tags,
                   c.owner_id AS owner, u.display_name AS owner_name, c.department_id,
                   c.territory_id, c.custom, c.created_by_id, c.created_at, c.updated_at,
                   c.last_contacted_at, c.next_follow_up_at, c.pool_entered_at, c.pool_reason,
                   c.previous_owner_id, c.satisfaction_avg, c.satisfaction_count,
                   c.last_satisfaction
            FROM customers_customer c LEFT JOIN org_user u ON u.id = c.owner_id
            WHERE {where}
            ORDER BY c.updated_at DESC, c.id DESC LIMIT 20) t)
"""


def _json_agg(where: str, params: list) -> dict:
    sql = JSON_AGG.format(where=where)

    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, params * 2)
            cursor.fetchone()

    return timed(run, repeat=100, warmup=10)


def _measure(users) -> None:
    rep, boss = users["rep"], users["boss"]
    rep_client, boss_client = _client(rep), _client(boss)
    url = "/api/v1/customers/"
    results = {}
    for label, client, where, params in (
        (
            "10k rows (rep, own scope)",
            rep_client,
            "c.owner_id = %s OR c.owner_id IS NULL",
            [rep.pk],
        ),
        ("1M rows (boss, all scope)", boss_client, "TRUE", []),
    ):
        n = _queries(lambda client=client: _get(client, url, {"page_size": 20}))
        api = timed(lambda client=client: _get(client, url, {"page_size": 20}), repeat=100)
        floor = _json_agg(where, params)
        report(f"GET {url} {label} [{n} queries]", api)
        report(f"  json_agg floor, same rows + count ({label})", floor)
        print(f"  ratio API / json_agg p95: {api['p95'] / floor['p95']:.1f}x")
        results[label] = api
    small, big = results.values()
    print(f"1M / 10k p95: {big['p95'] / small['p95']:.2f}x")

    # Search: rotate over several texts of each kind so no single plan or cache flatters it.
    rng = random.Random(7)  # noqa: S311
    samples = [name_parts(rng.randrange(N_CUSTOMERS)) for _ in range(50)]
    kinds = {
        "name substring (3+ chars)": [f"{w1}{w2}" for _c, w1, w2, _t in samples],
        "name prefix (2 chars, 'bench')": ["be"] * 5,
        "pinyin substring": [keys(w1)[0] + keys(w2)[0] for _c, w1, w2, _t in samples],
        "pinyin initials prefix": [
            "bench" + keys(c)[1] + keys(w1)[1] for c, w1, _w2, _t in samples
        ],
        "contact name (zhang / zs)": ["zhang", "zs", "张三", "wangwei", "ww"],
        "phone prefix": ["0213", "010", "13812"],
    }
    for who, user in (("boss", boss), ("rep", rep)):
        for kind, texts in kinds.items():
            cycle = itertools.cycle(texts)
            stats = timed(
                lambda user=user, cycle=cycle: global_search(user, next(cycle)), repeat=100
            )
            report(f"global search as {who}: {kind}", stats)
    cycle = itertools.cycle(kinds["pinyin substring"])
    stats = timed(lambda: _get(boss_client, url, {"search": next(cycle)}), repeat=100)
    report("GET /api/v1/customers/?search=<pinyin> (boss, 1M)", stats)

    # The 360° data of one of the rep's customers (3 contacts, 5 follow-ups).
    customer = Customer.objects.filter(owner=rep).order_by("id").first()

    def gather():
        user = User.objects.get(pk=rep.pk)  # a fresh user: permissions loaded as per request
        customer_360(user=user, customer=customer)

    n = _queries(gather)
    report(f"customer_360 (rep, cold permission caches) [{n} queries incl. user]", timed(gather))
