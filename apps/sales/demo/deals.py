"""Demo data of the sales app, deals part (DESIGN §6): pipelines 直销 (default) and 渠道 with
their stages, ~20 products in categories, ~150 opportunities over stages, owners and months
(some won or lost, with stage history), ~40 quotes (some with discounts above 15 % waiting for
the sales director through the real `discount` approval), and the deal permissions of the demo
roles: reps own, sales_director their department tree, ceo and finance all (view).

Idempotent: settings rows are get_or_create; deals and quotes are only made while the demo has
fewer than its target, through the real services (history rows, numbers, approvals).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from apps.org.demo import DemoContext, grant_perms, seeder, set_scopes

PIPELINES = {
    "直销": [
        ("初步接洽", 10, False, False, 14),
        ("需求确认", 25, False, False, 14),
        ("方案报价", 50, False, False, 21),
        ("商务谈判", 75, False, False, 21),
        ("赢单", 100, True, False, None),
        ("输单", 0, False, True, None),
    ],
    "渠道": [
        ("渠道报备", 10, False, False, 30),
        ("联合拜访", 30, False, False, 21),
        ("渠道报价", 60, False, False, 21),
        ("签约", 100, True, False, None),
        ("丢单", 0, False, True, None),
    ],
}
PRODUCTS = {
    "软件许可": [
        ("SW-CRM-STD", "Weft CRM 标准版（年）", "套", "36000"),
        ("SW-CRM-PRO", "Weft CRM 专业版（年）", "套", "68000"),
        ("SW-OA-STD", "Weft OA 标准版（年）", "套", "24000"),
        ("SW-USER-10", "追加 10 用户许可", "包", "6000"),
        ("SW-API", "开放接口模块", "套", "15000"),
    ],
    "实施服务": [
        ("SV-IMPL-D", "实施顾问（人天）", "人天", "2500"),
        ("SV-MIGR", "历史数据迁移", "项", "18000"),
        ("SV-TRAIN", "现场培训（天）", "天", "4000"),
        ("SV-CUSTOM", "定制开发（人天）", "人天", "3000"),
    ],
    "硬件设备": [
        ("HW-SRV-1U", "应用服务器 1U", "台", "42000"),
        ("HW-SRV-2U", "数据库服务器 2U", "台", "78000"),
        ("HW-NAS", "备份存储 NAS", "台", "26000"),
        ("HW-FW", "下一代防火墙", "台", "19800"),
        ("HW-PAD", "移动终端（平板）", "台", "3200"),
    ],
    "运维支持": [
        ("MT-STD", "标准运维（年）", "年", "12000"),
        ("MT-GOLD", "金牌运维 7×24（年）", "年", "36000"),
        ("MT-ONSITE", "驻场运维（月）", "月", "16000"),
        ("MT-HEALTH", "系统健康检查", "次", "5000"),
        ("MT-UPG", "版本升级服务", "次", "8000"),
        ("MT-SEC", "等保测评辅导", "项", "28000"),
    ],
}
DEAL_TOPICS = [
    "CRM 系统采购",
    "OA 协同平台",
    "数据中心扩容",
    "年度运维续约",
    "移动办公项目",
    "销售管理升级",
    "信息化二期",
    "等保合规改造",
    "分公司推广",
    "渠道管理系统",
]
LOST_REASONS = ["价格高于竞品", "预算取消", "选择了竞争对手", "项目延期至明年", "需求不匹配"]
TARGET_DEALS = 150
TARGET_QUOTES = 40


def _perms(model: str, actions) -> list[str]:
    return [f"sales.{a}_{model}" for a in actions]


def seed_permissions(ctx: DemoContext) -> None:
    r = ctx.roles
    crud = ("view", "add", "change", "delete")
    reps = r["销售代表"]
    grant_perms(
        reps,
        _perms("opportunity", ("view", "add", "change"))
        + _perms("quote", crud)
        + _perms("product", ("view",)),
    )
    set_scopes(reps, {"sales.Opportunity": "own", "sales.Quote": "own"})
    director = r["销售总监"]
    grant_perms(
        director,
        _perms("opportunity", (*crud, "assign", "export"))
        + _perms("quote", crud)
        + _perms("product", crud)
        + _perms("productcategory", crud),
    )
    set_scopes(director, {"sales.Opportunity": "tree", "sales.Quote": "tree"})
    for name in ("总经理", "财务"):
        grant_perms(
            r[name],
            _perms("opportunity", ("view", "export"))
            + _perms("quote", ("view",))
            + _perms("product", ("view",)),
        )
        set_scopes(r[name], {"sales.Opportunity": "all", "sales.Quote": "all"})
    grant_perms(r["市场"], _perms("product", ("view",)))


def seed_pipelines() -> dict:
    from ..models import Pipeline, Stage

    out = {}
    for order, (name, stages) in enumerate(PIPELINES.items()):
        pipeline, created = Pipeline.objects.get_or_create(
            name=name, defaults={"order": order, "is_default": order == 0}
        )
        if created:
            for index, (stage, prob, won, lost, days) in enumerate(stages, start=1):
                Stage.objects.create(
                    pipeline=pipeline,
                    name=stage,
                    order=index * 10,
                    probability=prob,
                    is_won=won,
                    is_lost=lost,
                    stalled_days=days,
                )
        out[name] = pipeline
    return out


def seed_products() -> list:
    from ..models import Product, ProductCategory

    made = []
    for order, (category, rows) in enumerate(PRODUCTS.items()):
        cat, _created = ProductCategory.objects.get_or_create(
            name=category, defaults={"order": order}
        )
        for sku, name, unit, price in rows:
            product, _created = Product.objects.get_or_create(
                sku=sku,
                defaults={
                    "name": name,
                    "category": cat,
                    "unit": unit,
                    "price": Decimal(price),
                    "cost": (Decimal(price) * Decimal("0.55")).quantize(Decimal("1")),
                },
            )
            made.append(product)
    return made


def _backdate(opp, days_ago: int) -> None:
    """Spread the demo's history over the past months (the services stamp "now")."""
    from ..models import Opportunity, OpportunityEvent, StageChange

    now = timezone.now()
    start = now - dt.timedelta(days=days_ago)
    changes = list(StageChange.objects.filter(opportunity=opp).order_by("at", "id"))
    step = dt.timedelta(days=max(days_ago // max(len(changes), 1), 1))
    for i, change in enumerate(changes):
        StageChange.objects.filter(pk=change.pk).update(at=start + step * i)
    events = list(OpportunityEvent.objects.filter(opportunity=opp).order_by("at", "id"))
    for i, event in enumerate(events):
        OpportunityEvent.objects.filter(pk=event.pk).update(at=start + step * i)
    last = start + step * max(len(changes) - 1, 0)
    fields = {"created_at": start, "stage_changed_at": last, "last_activity_at": last}
    if opp.status != Opportunity.Status.OPEN:
        fields["closed_at"] = last
    Opportunity.objects.filter(pk=opp.pk).update(**fields)


def seed_opportunities(ctx: DemoContext, pipelines: dict) -> int:
    from apps.customers.models import Customer

    from ..models import Opportunity, Stage
    from ..services import deals as services

    have = Opportunity.objects.count()
    if have >= TARGET_DEALS:
        return 0
    rng = random.Random(32)  # noqa: S311 - demo data, not security
    owners = [ctx.users["sales1"], ctx.users["sales2"], ctx.users["sales_director"]]
    customers = {o.pk: list(Customer.objects.filter(owner=o).order_by("pk")[:80]) for o in owners}
    stages = {
        name: list(Stage.objects.filter(pipeline=p).order_by("order"))
        for name, p in pipelines.items()
    }
    today = timezone.localdate()
    made = 0
    for i in range(have, TARGET_DEALS):
        owner = owners[0] if i % 5 in (0, 1) else owners[1] if i % 5 in (2, 3) else owners[2]
        pool = customers.get(owner.pk) or [c for rows in customers.values() for c in rows]
        if not pool:
            break
        customer = pool[i % len(pool)]
        pipeline_name = "直销" if i % 4 else "渠道"
        steps = stages[pipeline_name]
        open_steps = [s for s in steps if not s.is_won and not s.is_lost]
        won = next(s for s in steps if s.is_won)
        lost = next(s for s in steps if s.is_lost)
        amount = Decimal(rng.choice([3, 5, 8, 12, 18, 25, 36, 50, 80, 120, 200])) * 10000
        close = today + dt.timedelta(days=rng.randint(-20, 180))
        opp = services.opportunity_create(
            by=owner,
            data={
                "name": f"{customer.name[:30]} {DEAL_TOPICS[i % len(DEAL_TOPICS)]}",
                "customer": customer,
                "amount": amount,
                "expected_close_date": close,
            },
            stage=open_steps[0],
        )
        outcome = rng.random()
        target = rng.randint(0, len(open_steps) - 1)
        for step in open_steps[1 : target + 1]:
            opp = services.opportunity_move(opportunity=opp, stage=step, by=owner)
        if outcome < 0.15:
            opp = services.opportunity_move(opportunity=opp, stage=won, by=owner)
        elif outcome < 0.25:
            opp = services.opportunity_move(
                opportunity=opp, stage=lost, by=owner, reason=rng.choice(LOST_REASONS)
            )
        _backdate(opp, rng.randint(5, 150))
        made += 1
    return made


def seed_quotes(ctx: DemoContext, products: list) -> int:
    from ..models import Opportunity, Quote
    from ..services import deals as services

    have = Quote.objects.count()
    if have >= TARGET_QUOTES or not products:
        return 0
    rng = random.Random(3232)  # noqa: S311 - demo data, not security
    deals = list(
        Opportunity.objects.filter(owner__username__in=["sales1", "sales2"])
        .select_related("owner", "customer", "stage")
        .order_by("pk")[: TARGET_QUOTES * 2]
    )
    made = 0
    for i, opp in enumerate(deals[have:TARGET_QUOTES]):
        picks = rng.sample(products, k=rng.randint(1, 4))
        big_discount = i % 5 == 0
        lines = [
            {
                "product": p.pk,
                "quantity": rng.choice([1, 1, 2, 3, 5, 10]),
                "discount": rng.choice([18, 20, 25])
                if big_discount and n == 0
                else rng.choice([0, 0, 5, 8, 10]),
            }
            for n, p in enumerate(picks)
        ]
        quote = services.quote_create(
            by=opp.owner,
            data={
                "opportunity": opp,
                "title": f"{opp.name} 报价",
                "valid_until": timezone.localdate() + dt.timedelta(days=30),
                "terms": "报价含税（13% 增值税），有效期 30 天；"
                "付款方式：合同签订后预付 30%，验收后付清。",
            },
            lines=lines,
        )
        step = i % 6
        if step >= 1:
            quote = services.quote_submit(quote=quote, by=opp.owner)  # >15 %: approval
        if quote.status == Quote.Status.APPROVED and step >= 3:
            quote = services.quote_send(quote=quote, by=opp.owner)
        if quote.status == Quote.Status.SENT and step == 4:
            quote = services.quote_accept(quote=quote, by=opp.owner)
        if quote.status == Quote.Status.SENT and step == 5 and i % 2:
            quote = services.quote_decline(quote=quote, by=opp.owner, reason="客户选择分期采购")
        made += 1
    return made


@seeder(order=32)
def seed_deals(ctx: DemoContext) -> None:
    from apps.approvals.demo import seed_templates

    from ..models import SalesSettings

    SalesSettings.load()
    seed_templates(ctx)  # idempotent: the `discount` template the quotes below go through
    seed_permissions(ctx)
    pipelines = seed_pipelines()
    products = seed_products()
    deals = seed_opportunities(ctx, pipelines)
    quotes = seed_quotes(ctx, products)
    ctx.log(
        f"sales (deals): {len(pipelines)} pipelines, {len(products)} products, "
        f"{deals} new deals, {quotes} new quotes"
    )
