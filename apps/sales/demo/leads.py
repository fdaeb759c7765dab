"""Demo data of the sales app, leads part (DESIGN §6): campaigns on several channels with
costs, two public web forms, the assignment rules of §6 (华东 → sales1, 华北 → sales2 as
territory owners, other provinces round-robin sales1/sales2, fallback sales_director), ~200
leads in every status spread over owners, provinces, sources and campaigns — some converted
into customers with contacts, some flagged duplicates — and the roles' lead permissions.

Deterministic (seeded random) and idempotent: campaigns, forms and rules are matched by name;
leads are only seeded while there are fewer than 100.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from apps.customers.models import Customer, Territory
from apps.org.demo import DemoContext, grant_perms, seeder, set_scopes

from ..models import AssignmentRule, Campaign, Channel, Lead, LeadForm, LeadSource, SalesSettings

SEED = 20261130
LEADS = 200

CAMPAIGNS = [
    # name, channel, status, start (days ago), length (days), budget, cost
    ("2026 春季百度搜索推广", Channel.SEARCH, Campaign.Status.FINISHED, 150, 60, 80000, 76500),
    ("上海国际工业博览会", Channel.EXHIBITION, Campaign.Status.FINISHED, 95, 5, 150000, 168000),
    ("微信公众号内容营销", Channel.SOCIAL, Campaign.Status.ACTIVE, 60, 120, 30000, 18200),
    ("智能制造线上研讨会", Channel.SEMINAR, Campaign.Status.ACTIVE, 20, 30, 20000, 9000),
    ("老客户转介绍计划", Channel.REFERRAL, Campaign.Status.ACTIVE, 120, 365, 10000, 4000),
    ("秋季电话营销", Channel.TELEMARKETING, Campaign.Status.PLANNED, -10, 45, 25000, 0),
]
CORES = [
    "星河", "远景", "蓝海", "聚力", "明德", "华域", "云帆", "博瑞", "晨光", "智源",
    "天择", "融创", "恒昌", "致远", "信达", "鸿运", "新纪元", "万通", "立信", "嘉信",
]  # fmt: skip
TRADES = ["机械", "电子", "软件", "物流", "医疗器械", "新材料", "环保科技", "食品", "建材"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "涛", "明", "超"]
TITLES = ["采购经理", "总经理", "技术总监", "IT 主管", "生产经理", "行政主管", ""]
NOTES = ["官网咨询产品报价", "展会上留了名片", "想了解实施周期", "需要试用账号", "", ""]
DISQUALIFY = ["预算不足", "已选择竞争对手", "联系不上", "需求不匹配"]
PROVINCE_WEIGHTS = {
    "上海": 10, "江苏": 8, "浙江": 8, "安徽": 3, "北京": 9, "天津": 3, "河北": 3,
    "山西": 2, "广东": 9, "四川": 4, "湖北": 4, "山东": 5, "福建": 3, "河南": 3,
}  # fmt: skip
SOURCES = {
    LeadSource.WEB_FORM: 30,
    LeadSource.MANUAL: 15,
    LeadSource.IMPORT: 15,
    LeadSource.API: 5,
    LeadSource.EXHIBITION: 12,
    LeadSource.REFERRAL: 8,
    LeadSource.COLD_CALL: 8,
    LeadSource.ADVERTISING: 7,
}
STATUS_MIX = [
    (Lead.Status.ASSIGNED, 45),
    (Lead.Status.CONTACTED, 50),
    (Lead.Status.QUALIFIED, 30),
    (Lead.Status.DISQUALIFIED, 25),
    (Lead.Status.CONVERTED, 30),
]


def _pick(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def seed_roles(ctx: DemoContext) -> None:
    r = ctx.roles
    lead = [f"sales.{a}_lead" for a in ("view", "add", "change")]
    campaign_view = ["sales.view_campaign"]
    grant_perms(r["销售代表"], [*lead, "sales.convert_lead", *campaign_view])
    set_scopes(r["销售代表"], {"sales.Lead": "own", "sales.Campaign": "all"})
    grant_perms(
        r["销售总监"],
        [
            *lead,
            "sales.delete_lead",
            "sales.assign_lead",
            "sales.convert_lead",
            "sales.import_lead",
            "sales.export_lead",
            *campaign_view,
        ],
    )
    set_scopes(r["销售总监"], {"sales.Lead": "tree", "sales.Campaign": "all"})
    grant_perms(
        r["市场"],
        [
            *lead,
            "sales.assign_lead",
            "sales.import_lead",
            "sales.export_lead",
            *(f"sales.{a}_campaign" for a in ("view", "add", "change", "delete")),
            "sales.view_leadform",
            "sales.add_leadform",
            "sales.change_leadform",
        ],
    )
    set_scopes(r["市场"], {"sales.Lead": "all", "sales.Campaign": "all"})
    grant_perms(
        r["总经理"],
        [
            *lead,
            "sales.delete_lead",
            "sales.assign_lead",
            "sales.convert_lead",
            "sales.import_lead",
            "sales.export_lead",
            *(f"sales.{a}_campaign" for a in ("view", "add", "change", "delete")),
        ],
    )
    set_scopes(r["总经理"], {"sales.Lead": "all", "sales.Campaign": "all"})


def seed_setup(ctx: DemoContext) -> tuple[list[Campaign], list[LeadForm]]:
    u = ctx.users
    today = timezone.localdate()
    campaigns = []
    for name, channel, status, ago, length, budget, cost in CAMPAIGNS:
        start = today - dt.timedelta(days=ago)
        campaign, _created = Campaign.objects.get_or_create(
            name=name,
            defaults={
                "channel": channel,
                "status": status,
                "start_date": start,
                "end_date": start + dt.timedelta(days=length),
                "budget": Decimal(budget),
                "cost": Decimal(cost),
                "owner": u["marketing"],
                "department": u["marketing"].department,
                "description": f"{name}（演示数据）",
            },
        )
        campaigns.append(campaign)
    forms = [
        LeadForm.objects.get_or_create(
            name="官网咨询表单",
            defaults={
                "source": LeadSource.WEB_FORM,
                "channel": Channel.SEARCH,
                "campaign": campaigns[0],
                "success_message": "感谢您的咨询，我们的销售顾问会在 24 小时内联系您。",
            },
        )[0],
        LeadForm.objects.get_or_create(
            name="研讨会报名表",
            defaults={
                "source": LeadSource.WEB_FORM,
                "channel": Channel.SEMINAR,
                "campaign": campaigns[3],
                "success_message": "报名成功！会议链接将发送到您的邮箱。",
            },
        )[0],
    ]
    east = Territory.objects.filter(name="华东").first()
    north = Territory.objects.filter(name="华北").first()
    rules = [
        ("华东 → 区域负责人", 10, east, AssignmentRule.Strategy.TERRITORY_OWNER, []),
        ("华北 → 区域负责人", 20, north, AssignmentRule.Strategy.TERRITORY_OWNER, []),
        (
            "其他省份 → 轮流分配",
            90,
            None,
            AssignmentRule.Strategy.ROUND_ROBIN,
            ["sales1", "sales2"],
        ),
    ]
    for name, order, territory, strategy, users in rules:
        rule, created = AssignmentRule.objects.get_or_create(
            name=name, defaults={"order": order, "territory": territory, "strategy": strategy}
        )
        if created and users:
            rule.users.set([u[n] for n in users])
    settings = SalesSettings.load()
    if settings.fallback_owner_id is None:
        settings.fallback_owner = u["sales_director"]
        settings.save(update_fields=["fallback_owner"])
    return campaigns, forms


def _lead(rng, campaigns, forms, now, idx) -> Lead:
    province = _pick(rng, PROVINCE_WEIGHTS)
    source = _pick(rng, SOURCES)
    company = f"{province}{rng.choice(CORES)}{rng.choice(TRADES)}有限公司"
    name = (
        rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.5 else "")
    )
    campaign = form = None
    if source == LeadSource.WEB_FORM:
        form = rng.choice(forms)
        campaign = form.campaign
    elif source == LeadSource.EXHIBITION:
        campaign = campaigns[1]
    elif source == LeadSource.REFERRAL:
        campaign = campaigns[4]
    elif source == LeadSource.ADVERTISING:
        campaign = rng.choice([campaigns[0], campaigns[2]])
    created = now - dt.timedelta(days=rng.randint(0, 120), hours=rng.randint(0, 23))
    return Lead(
        company=company,
        contact_name=name,
        title=rng.choice(TITLES),
        mobile=f"1{rng.choice([35, 36, 37, 38, 39, 58, 86, 88])}{rng.randint(0, 99999999):08d}",
        email=f"contact{idx}@{rng.choice(['163.com', 'qq.com', 'example.cn'])}"
        if rng.random() < 0.6
        else "",
        province=province,
        industry=rng.choice(Lead.Industry.values),
        source=source,
        channel=(campaign.channel if campaign else ""),
        campaign=campaign,
        form=form,
        description=rng.choice(NOTES),
        created_at=created,
    )


def seed_leads(ctx: DemoContext, campaigns, forms) -> int:
    from ..services.leads import (
        lead_contact,
        lead_convert,
        lead_disqualify,
        lead_qualify,
    )
    from ..services.leads_import import lead_bulk_import

    rng = random.Random(SEED)  # noqa: S311 - demo data, deterministic on purpose
    now = timezone.now()
    leads = [_lead(rng, campaigns, forms, now, i) for i in range(LEADS)]
    # Repeat inquiries: the same company or mobile again (flagged, linked, same owner).
    for i in range(8):
        src = leads[rng.randrange(LEADS)]
        again = _lead(rng, campaigns, forms, now, LEADS + i)
        if i % 2:
            again.company = src.company
        else:
            again.mobile = src.mobile
        leads.append(again)
    # Inquiries from companies that are customers already (matched, go to their owner).
    for i, customer in enumerate(Customer.objects.order_by("pk")[:4]):
        again = _lead(rng, campaigns, forms, now, LEADS + 20 + i)
        again.company = customer.name
        leads.append(again)
    leads.sort(key=lambda lead: lead.created_at)
    lead_bulk_import(by=None, leads=leads, notify_owners=False)
    for lead in leads:
        Lead.objects.filter(pk=lead.pk).update(assigned_at=lead.created_at)
    originals = [lead for lead in leads if lead.duplicate_of_id is None and lead.owner_id]
    statuses = [s for s, n in STATUS_MIX for _ in range(n)]
    rng.shuffle(statuses)
    from apps.org.models import User

    # Fresh rows: permissions granted above are not in any cached user object.
    owners = {u.pk: u for u in User.objects.filter(pk__in={lead.owner_id for lead in originals})}
    converted = 0
    for lead, status in zip(originals, statuses, strict=False):
        owner = owners[lead.owner_id]
        if status == Lead.Status.ASSIGNED or lead.created_at > now - dt.timedelta(days=1):
            continue
        when = lead.created_at + dt.timedelta(hours=rng.randint(1, 48))
        lead_contact(
            lead=lead, by=owner, note=rng.choice(["电话沟通需求", "已加微信", ""]), at=when
        )
        if status == Lead.Status.QUALIFIED:
            lead_qualify(lead=lead, by=owner, note="预算和决策人已确认")
        elif status == Lead.Status.DISQUALIFIED:
            lead_disqualify(lead=lead, by=owner, reason=rng.choice(DISQUALIFY))
        elif status == Lead.Status.CONVERTED and lead.duplicate_customer_id is None:
            lead_qualify(lead=lead, by=owner)
            lead_convert(lead=lead, by=None)
            converted += 1
    return converted


@seeder(order=30)
def seed_sales_leads(ctx: DemoContext) -> None:
    seed_roles(ctx)
    campaigns, forms = seed_setup(ctx)
    if Lead.objects.count() >= 100:
        ctx.log("sales/leads: leads exist, kept")
        return
    converted = seed_leads(ctx, campaigns, forms)
    ctx.log(
        f"sales/leads: {len(campaigns)} campaigns, {len(forms)} web forms, "
        f"{Lead.objects.count()} leads ({converted} converted)"
    )
