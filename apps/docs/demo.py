# ruff: noqa: E501  (demo content: long Chinese sentences, each counted at double width)
"""Demo library and announcements (DESIGN §6): a folder tree with visibility examples, Chinese
documents with file versions (a Markdown file and a small PDF made here), and announcements
with partial reads. Idempotent and deterministic: everything is looked up by name first and
made through the services only when missing.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.org.demo import DemoContext, grant_perms, seeder, set_scopes
from apps.org.scopes import clear_caches

from . import services
from .models import Announcement, Audience, Document, Folder, Visibility

EVERYONE = ["总经理", "销售总监", "销售代表", "财务", "客服", "市场", "人事"]


def tiny_pdf(title: str) -> bytes:
    """A valid one-page PDF with one line of (ASCII) text, built without any library."""
    text = title.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _md(name: str, body: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body.encode("utf-8"), content_type="text/markdown")


def _pdf(name: str, title: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, tiny_pdf(title), content_type="application/pdf")


def seed_roles(ctx: DemoContext) -> None:
    r = ctx.roles
    for name in EVERYONE:
        grant_perms(r[name], ["docs.add_document", "docs.add_folder"])
    for name in ("总经理", "人事", "销售总监", "客服"):
        grant_perms(r[name], ["docs.add_announcement"])
    librarian = [
        "docs.view_document", "docs.change_document", "docs.delete_document",
        "docs.view_folder", "docs.change_folder", "docs.delete_folder",
        "docs.view_announcement", "docs.change_announcement", "docs.delete_announcement",
    ]  # fmt: skip
    grant_perms(r["总经理"], librarian)
    set_scopes(
        r["总经理"], {"docs.Document": "all", "docs.Folder": "all", "docs.Announcement": "all"}
    )
    grant_perms(r["人事"], ["docs.view_announcement", "docs.change_announcement"])
    set_scopes(r["人事"], {"docs.Announcement": "all"})


def _folder(ctx, name, by, parent=None, **visibility) -> Folder:
    folder = Folder.objects.filter(name=name, parent=parent).first()
    if folder is None:
        folder = services.folder_create(by=ctx.users[by], name=name, parent=parent)
        if visibility:
            services.folder_set_visibility(folder=folder, by=ctx.users[by], **visibility)
    return folder


def _doc(ctx, folder, title, by, body, *, tags=(), files=(), **visibility) -> Document:
    doc = Document.objects.filter(folder=folder, title=title).first()
    if doc is not None:
        return doc
    user = ctx.users[by]
    doc = services.document_create(by=user, title=title, folder=folder, body=body, tags=list(tags))
    for upload, note in files:
        services.document_upload_version(document=doc, by=user, file=upload, note=note)
    if visibility:
        services.document_set_visibility(document=doc, by=user, **visibility)
    return doc


def seed_library(ctx: DemoContext) -> None:
    d, r, u = ctx.departments, ctx.roles, ctx.users
    policy = _folder(ctx, "公司制度", "hr", visibility=Visibility.EVERYONE)
    product = _folder(ctx, "产品资料", "marketing", visibility=Visibility.EVERYONE)
    manuals = _folder(ctx, "产品手册", "marketing", parent=product)
    pricing = _folder(
        ctx, "价格政策", "sales_director", parent=product,
        visibility=Visibility.RESTRICTED, departments=[d["销售部"], d["财务部"]],
    )  # fmt: skip
    sales = _folder(
        ctx, "销售手册", "sales_director",
        visibility=Visibility.RESTRICTED, departments=[d["销售部"]], users=[u["marketing"]],
    )  # fmt: skip
    kb = _folder(ctx, "客服知识库", "service", visibility=Visibility.EVERYONE)
    faq = _folder(ctx, "常见问题", "service", parent=kb)
    finance = _folder(
        ctx, "财务制度", "finance",
        visibility=Visibility.RESTRICTED, roles=[r["财务"], r["总经理"]],
    )  # fmt: skip

    _doc(ctx, policy, "员工手册（2026版）", "hr",
         "# 员工手册\n\n- 工作时间：9:00–18:00，午休一小时\n- 请假需在系统中提交**请假审批**\n- 差旅标准见《差旅报销制度》",
         tags=["制度", "入职"],
         files=[(_md("员工手册.md", "# 员工手册 v1\n\n初版。"), "初版"),
                (_md("员工手册.md", "# 员工手册 v2\n\n增加远程办公规定。"), "增加远程办公规定")])  # fmt: skip
    _doc(ctx, policy, "差旅报销制度", "hr",
         "出差前提交申请；住宿标准：一线城市 **500 元/晚**，其他城市 350 元/晚。\n\n报销请在 30 天内提交。",
         tags=["制度", "报销"])  # fmt: skip
    _doc(ctx, manuals, "Weft 智能网关 产品白皮书", "marketing",
         "智能网关支持 **4G/5G 双模**、边缘计算和远程运维。适用于制造、仓储、园区。",
         tags=["产品", "白皮书"],
         files=[(_pdf("智能网关白皮书.pdf", "Weft Gateway white paper v1"), "首发版本"),
                (_pdf("智能网关白皮书.pdf", "Weft Gateway white paper v2"), "更新参数表")])  # fmt: skip
    _doc(ctx, manuals, "产品选型指南", "marketing",
         "| 场景 | 推荐型号 |\n|---|---|\n| 小型门店 | G100 |\n| 工厂车间 | G500 |",
         tags=["产品", "选型"])  # fmt: skip
    _doc(ctx, pricing, "2026 年价格表", "sales_director",
         "标准价与渠道价见附件。**折扣超过 15% 需走折扣审批。**",
         tags=["价格"], files=[(_pdf("2026价格表.pdf", "Price list 2026"), "年度价格")])  # fmt: skip
    _doc(ctx, sales, "大客户拜访话术", "sales_director",
         "1. 开场：了解客户现状\n2. 挖掘痛点：停机、运维成本\n3. 方案：网关 + 运维平台\n4. 促成：试点项目",
         tags=["销售", "话术"])  # fmt: skip
    _doc(ctx, sales, "合同审批要点", "sales_director",
         "合同金额 ≥ 50 万需总经理审批；付款条件不得低于 30% 预付款。",
         tags=["销售", "合同"])  # fmt: skip
    _doc(ctx, faq, "网关无法联网怎么办", "service",
         "1. 检查 SIM 卡是否欠费\n2. 查看指示灯：红灯常亮表示无信号\n3. 远程重启后仍失败，请派单给二线。",
         tags=["客服", "故障"])  # fmt: skip
    _doc(ctx, faq, "如何重置管理员密码", "service",
         "长按 RESET 键 10 秒，恢复出厂设置后默认密码为设备背面标签所示。",
         tags=["客服", "常见问题"],
         files=[(_md("重置步骤.md", "## 重置步骤\n\n1. 断电\n2. 长按 RESET\n3. 上电"), "图文步骤")])  # fmt: skip
    _doc(ctx, finance, "开票流程说明", "finance",
         "开票申请经审批后，财务在 3 个工作日内开具发票。",
         tags=["财务"])  # fmt: skip
    _doc(ctx, kb, "VIP 客户服务规范（内部）", "service",
         "VIP 客户 2 小时内响应，24 小时内上门。",
         tags=["客服"], visibility=Visibility.RESTRICTED, departments=[d["客服部"]],
         users=[u["sales_director"]])  # fmt: skip


def seed_announcements(ctx: DemoContext) -> None:
    d, u = ctx.departments, ctx.users
    now = timezone.now()
    items = [
        ("关于 2026 年国庆节放假安排的通知", "hr", Audience.EVERYONE, [], True, True, timedelta(days=-3),
         "10 月 1 日至 7 日放假，共 7 天。9 月 28 日（周日）正常上班。\n\n请各部门提前安排好值班。",
         ["sales1", "finance", "service", "marketing"]),
        ("新版员工手册发布，请全员阅读", "hr", Audience.EVERYONE, [], False, True, timedelta(days=-10),
         "新版《员工手册》已上传到知识库 **公司制度** 目录，请在本周内阅读并确认。",
         ["ceo", "finance"]),
        ("销售部季度例会", "sales_director", Audience.DEPARTMENTS, [d["销售部"]], False, True,
         timedelta(days=-1), "时间：周一 9:00，地点：3 楼会议室。请准备本季度商机复盘。", ["sales1"]),
        ("客服系统升级维护公告", "service", Audience.EVERYONE, [], False, False, timedelta(days=-5),
         "本周六 22:00–24:00 进行系统升级，期间工单系统暂停使用。", ["sales1", "sales2", "hr"]),
        ("年度体检预约开始", "hr", Audience.EVERYONE, [], False, False, timedelta(days=2),
         "体检预约将于下周开放（定时发布示例）。", []),
    ]  # fmt: skip
    for title, by, audience, depts, pinned, required, offset, body, readers in items:
        if Announcement.objects.filter(title=title).exists():
            continue
        ann = services.announcement_publish(
            by=u[by],
            title=title,
            body=body,
            audience=audience,
            departments=depts,
            pinned=pinned,
            requires_read=required,
            published_at=now + offset,
        )
        for name in readers:
            services.announcement_mark_read(announcement=ann, by=u[name])


@seeder(order=60)
def seed_docs(ctx: DemoContext) -> None:
    seed_roles(ctx)
    for user in ctx.users.values():
        # Roles just changed: forget cached permissions before acting as these users.
        clear_caches(user)
    seed_library(ctx)
    seed_announcements(ctx)
    ctx.log(
        f"docs: {Folder.objects.count()} folders, {Document.objects.count()} documents, "
        f"{Announcement.objects.count()} announcements"
    )
