"""Knowledge library: document search at 100,000 documents (PostgreSQL).

Rows are written with COPY: 40 folders (8 open to everyone, 32 restricted to one of 8
departments), 100,000 documents (title + a Markdown body of ~300 characters of Chinese
business text with some English), a file version for every fifth document. The searching user
is in one department: they see the open folders, their department's folders and their own
documents — about 40 % of the rows.

Measured through the selector the library page and the API use (`selectors.document_list`:
visibility + search over titles, bodies and file names, ordered by last update) as the page
does it: COUNT for the pager plus the first page of 20 rows. p50/p95 over 40 runs each for a
two-character Chinese term (合同), a four-character one (远程运维), an English word
(gateway) and a file-name fragment (报价单). Everything created is deleted at the end.
"""

from __future__ import annotations

import io
import os
import random
import time
import uuid

from django.core.paginator import Paginator
from django.db import connection
from django.utils import timezone

from apps.docs import selectors
from apps.docs.models import Document, DocumentVersion, Folder, Visibility
from apps.org.models import Department, User

from .util import report, timed

N_DOCS = 100_000
N_FOLDERS = 40
N_DEPTS = 8
WORDS = (
    "审批 客户 回款 发票 网关 边缘计算 渠道 折扣 产品 白皮书 选型 售后 工单 故障 重启 信号 "
    "指示灯 价格 政策 培训 制度 报销 差旅 会议 纪要 方案 试点 库存 物流 交付 验收 巡检"
).split()
ENGLISH = "router firmware edge cloud SLA invoice pricing deploy".split()
# The measured terms each appear in about 2 % of the documents, as a real search term would.
RARE = ["合同", "远程运维", "gateway"]


def _body(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(60)]
    for _ in range(3):
        words.insert(rng.randrange(len(words)), rng.choice(ENGLISH))
    for term in RARE:
        if rng.random() < 0.02:
            words.insert(rng.randrange(len(words)), term)
    return "。".join(" ".join(words[i : i + 6]) for i in range(0, len(words), 6))


def main() -> None:
    if connection.vendor != "postgresql":
        print("bench_docs needs PostgreSQL (set DATABASE_URL); skipped")
        return
    tag = uuid.uuid4().hex[:6]
    made: dict[str, list[int]] = {"users": [], "depts": [], "folders": []}
    try:
        _run(tag, made)
    finally:
        _cleanup(made)


def _run(tag: str, made: dict) -> None:
    rng = random.Random(42)
    depts = [Department.objects.create(name=f"bench-{tag}-{i}") for i in range(N_DEPTS)]
    made["depts"] = [d.pk for d in depts]
    owners = [
        User.objects.create_user(f"bench-{tag}-{i}", department=depts[i % N_DEPTS])
        for i in range(N_DEPTS * 2)
    ]
    made["users"] = [u.pk for u in owners]
    searcher = owners[0]
    folders = []
    for i in range(N_FOLDERS):
        open_ = i < N_FOLDERS // 5
        folder = Folder.objects.create(
            name=f"bench-{tag}-{i}",
            owner=owners[i % len(owners)],
            visibility=Visibility.EVERYONE if open_ else Visibility.RESTRICTED,
        )
        if not open_:
            folder.departments.set([depts[i % N_DEPTS]])
        folders.append(folder)
    Folder.objects.filter(pk__in=[f.pk for f in folders]).update(rule_id=None)
    for f in folders:
        Folder.objects.filter(pk=f.pk).update(rule_id=f.pk)
    made["folders"] = [f.pk for f in folders]

    t0 = time.perf_counter()
    now = timezone.now()
    buf = io.StringIO()
    for i in range(N_DOCS):
        folder = folders[i % N_FOLDERS]
        owner = owners[rng.randrange(len(owners))]
        title = f"{rng.choice(WORDS)}{rng.choice(WORDS)} 第{i}号 {rng.choice(ENGLISH)}"
        body = _body(rng).replace("\\", "")
        updated = now.isoformat()
        buf.write(
            f"{folder.pk}\t{title}\t{body}\tinherit\t{owner.pk}\t{updated}\t{updated}\t{{}}\n"
        )
    buf.seek(0)
    raw = connection.connection
    with raw.cursor() as cur:
        with cur.copy(
            "COPY docs_document (folder_id, title, body, visibility, owner_id, created_at, "
            "updated_at, custom) FROM STDIN"
        ) as copy:
            copy.write(buf.read())
        cur.execute(
            "SELECT id FROM docs_document WHERE folder_id = ANY(%s) ORDER BY id",
            [made["folders"]],
        )
        ids = [r[0] for r in cur.fetchall()]
        vbuf = io.StringIO()
        for n, doc_id in enumerate(ids[::5]):
            name = f"{rng.choice(['报价单', '方案书', 'manual', '扫描件'])}-{n}.pdf"
            vbuf.write(
                f"{doc_id}\t1\tdocs/versions/bench/{n}\t{name}\t1024\tapplication/pdf\t\t"
                f"{owners[0].pk}\t{now.isoformat()}\n"
            )
        vbuf.seek(0)
        with cur.copy(
            "COPY docs_documentversion (document_id, number, file, original_name, size, "
            "content_type, note, uploaded_by_id, uploaded_at) FROM STDIN"
        ) as copy:
            copy.write(vbuf.read())
        cur.execute("ANALYZE docs_document")
        cur.execute("ANALYZE docs_documentversion")
        cur.execute("ANALYZE docs_folder")
    raw.commit() if not raw.autocommit else None
    took = time.perf_counter() - t0
    print(f"generated {len(ids)} documents, {len(ids[::5])} versions in {took:.1f} s")

    visible = Document.objects.visible_to(searcher).filter(folder_id__in=made["folders"]).count()
    print(f"searcher sees {visible} of {len(ids)} documents ({visible / len(ids):.0%})")

    def page(term):
        def run():
            qs = selectors.document_list(user=searcher, filters={"q": term})
            p = Paginator(qs, 20).get_page(1)
            return p.paginator.count, list(p.object_list)

        return run

    for term in ("合同", "远程运维", "gateway", "报价单"):
        count, _rows = page(term)()
        stats = timed(page(term), repeat=40, warmup=3)
        report(f"search {term!r:12} ({count} hits, page 1 + count)", stats)
    term = "第4242号"
    stats = timed(page(term), repeat=40, warmup=3)
    report(f"search {term!r} (rare: 1 hit)", stats)
    for term, index in (("合同", "bigrams"), ("远程运维", "bigrams"), ("gateway", "trgm")):
        with connection.cursor() as cur:
            qs = selectors.document_list(user=searcher, filters={"q": term})[:20]
            sql, params = qs.query.sql_with_params()
            cur.execute("EXPLAIN " + sql, params)
            plan = "\n".join(r[0] for r in cur.fetchall())
            print(f"plan for {term!r} uses the {index} index:", index in plan)
            if os.environ.get("BENCH_EXPLAIN"):
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                print("\n".join(r[0] for r in cur.fetchall()))


def _cleanup(made: dict) -> None:
    with connection.cursor() as cur:
        if made["folders"]:
            cur.execute(
                "DELETE FROM docs_documentversion WHERE document_id IN "
                "(SELECT id FROM docs_document WHERE folder_id = ANY(%s))",
                [made["folders"]],
            )
            cur.execute("DELETE FROM docs_document WHERE folder_id = ANY(%s)", [made["folders"]])
    Folder.objects.filter(pk__in=made["folders"]).delete()
    User.objects.filter(pk__in=made["users"]).delete()
    Department.objects.filter(pk__in=made["depts"]).delete()
    DocumentVersion.objects.filter(document__isnull=True).delete()
