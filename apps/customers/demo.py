"""Demo customers (DESIGN §6): territories, a few hundred realistic customers with contacts and
follow-ups spread over owners, levels, provinces and industries, some in the public pool,
tickets in every status, and the roles' permissions and data scopes.

Deterministic (a seeded random generator) and idempotent: a customer whose normalised name
exists already is skipped together with its contacts and follow-ups; tickets are made once.
Bulk inserts keep seeding fast; derived columns (normalised name, pinyin) are computed the
same way the models compute them.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from apps.org.demo import DemoContext, grant_perms, seeder, set_scopes

from . import services
from .models import (
    PROVINCES,
    ClaimLimit,
    Contact,
    Customer,
    CustomerEvent,
    FollowUp,
    Territory,
    Ticket,
)
from .normalize import normalize_name, pinyin_keys

SEED = 20261103
CUSTOMERS = 320

MODELS = ("customers.Customer", "customers.Contact", "customers.FollowUp", "customers.Ticket")


def _perms(model: str, actions) -> list[str]:
    return [f"customers.{a}_{model}" for a in actions]


CRUD = ("view", "add", "change", "delete")


def seed_roles(ctx: DemoContext) -> None:
    r = ctx.roles
    reps = r["销售代表"]
    grant_perms(
        reps,
        _perms("customer", ("view", "add", "change", "claim"))
        + _perms("contact", CRUD)
        + _perms("followup", CRUD)
        + _perms("ticket", ("view", "add"))
        + ["customers.view_territory"],
    )
    set_scopes(reps, dict.fromkeys(MODELS, "own"))
    director = r["销售总监"]
    grant_perms(
        director,
        _perms("customer", (*CRUD, "claim", "assign", "merge", "export"))
        + _perms("contact", CRUD)
        + _perms("followup", CRUD)
        + _perms("ticket", ("view", "add", "change"))
        + _perms("territory", CRUD),
    )
    set_scopes(director, dict.fromkeys(MODELS, "tree"))
    ceo = r["总经理"]
    grant_perms(
        ceo,
        _perms("customer", (*CRUD, "assign", "merge", "export"))
        + _perms("contact", CRUD)
        + _perms("followup", CRUD)
        + _perms("ticket", CRUD)
        + _perms("territory", CRUD),
    )
    set_scopes(ceo, dict.fromkeys(MODELS, "all"))
    finance = r["财务"]
    grant_perms(
        finance,
        _perms("customer", ("view", "export"))
        + _perms("contact", ("view",))
        + _perms("followup", ("view",))
        + _perms("ticket", ("view",)),
    )
    set_scopes(finance, dict.fromkeys(MODELS, "all"))
    service = r["客服"]
    grant_perms(
        service,
        _perms("customer", ("view",))
        + _perms("contact", ("view",))
        + _perms("followup", ("view",))
        + _perms("ticket", CRUD)
        + ["customers.view_territory"],
    )
    set_scopes(service, dict.fromkeys(MODELS, "all"))
    ClaimLimit.objects.get_or_create(role=reps, defaults={"max_customers": 150})


def seed_territories(ctx: DemoContext) -> dict[str, Territory]:
    u = ctx.users
    fixed = [
        ("华东", ["上海", "江苏", "浙江", "安徽"], "sales1"),
        ("华北", ["北京", "天津", "河北", "山西"], "sales2"),
    ]
    taken = {p for _n, provinces, _o in fixed for p in provinces}
    rest = [p for p in PROVINCES if p not in taken]
    # The other provinces alternate between the two reps (DESIGN §6), one territory each.
    fixed.append(("其他地区（一）", rest[0::2], "sales1"))
    fixed.append(("其他地区（二）", rest[1::2], "sales2"))
    out = {}
    for order, (name, provinces, owner) in enumerate(fixed):
        territory, _created = Territory.objects.get_or_create(
            name=name,
            defaults={
                "region": name if order < 2 else "其他",
                "provinces": provinces,
                "owner": u[owner],
                "order": order,
            },
        )
        out[name] = territory
    return out


CITIES = {
    "上海": ["上海"],
    "江苏": ["南京", "苏州", "无锡", "常州"],
    "浙江": ["杭州", "宁波", "温州", "嘉兴"],
    "安徽": ["合肥", "芜湖"],
    "北京": ["北京"],
    "天津": ["天津"],
    "河北": ["石家庄", "保定", "唐山"],
    "山西": ["太原", "大同"],
    "广东": ["广州", "深圳", "东莞", "佛山"],
    "四川": ["成都", "绵阳"],
    "湖北": ["武汉", "宜昌"],
    "山东": ["济南", "青岛", "烟台"],
    "福建": ["福州", "厦门"],
    "河南": ["郑州", "洛阳"],
    "湖南": ["长沙", "株洲"],
    "陕西": ["西安"],
    "重庆": ["重庆"],
    "辽宁": ["沈阳", "大连"],
}
PROVINCE_WEIGHTS = {
    "上海": 9,
    "江苏": 8,
    "浙江": 8,
    "安徽": 3,
    "北京": 9,
    "天津": 3,
    "河北": 3,
    "山西": 2,
    "广东": 6,
    "四川": 3,
    "湖北": 2,
    "山东": 3,
    "福建": 2,
    "河南": 2,
    "湖南": 2,
    "陕西": 1,
    "重庆": 1,
    "辽宁": 1,
}
AREA = {"上海": "021", "北京": "010", "天津": "022", "重庆": "023", "广东": "020"}
CORES = [
    "华信",
    "恒达",
    "宏图",
    "鼎盛",
    "瑞丰",
    "金桥",
    "博远",
    "天成",
    "星辰",
    "佳和",
    "新锐",
    "永泰",
    "中科",
    "东方",
    "汇通",
    "安泰",
    "启明",
    "盛世",
    "腾飞",
    "联创",
    "卓越",
    "海纳",
    "德润",
    "嘉禾",
    "锦程",
    "睿智",
    "华腾",
    "远航",
    "同创",
    "百川",
    "凯旋",
    "正源",
    "精工",
    "立达",
    "明辉",
    "振华",
]
TRADES = {
    "manufacturing": ["机电", "精密制造", "模具", "自动化设备", "新材料"],
    "it": ["软件", "信息技术", "网络科技", "数据服务", "智能科技"],
    "finance": ["投资管理", "融资租赁", "保险代理"],
    "retail": ["商贸", "电子商务", "连锁超市"],
    "education": ["教育科技", "培训学校"],
    "healthcare": ["医疗器械", "生物医药", "健康管理"],
    "real_estate": ["建筑工程", "置业", "装饰工程"],
    "logistics": ["物流", "供应链管理", "货运代理"],
    "energy": ["新能源", "电力设备", "环保科技"],
    "government": ["城市建设投资", "公共服务"],
    "services": ["咨询", "人力资源", "广告传媒"],
    "other": ["实业", "贸易"],
}
SUFFIXES = ["有限公司", "有限公司", "有限公司", "股份有限公司", "集团有限公司", "有限责任公司"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
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
    "桂英",
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
    "梓萱",
    "俊杰",
    "丹",
    "鹏",
    "晨",
]
STREETS = ["人民路", "建设路", "科技园路", "解放大道", "中山路"]
TITLES = [
    "总经理",
    "采购经理",
    "技术总监",
    "财务经理",
    "IT经理",
    "行政主管",
    "项目经理",
    "副总经理",
]
CONTENTS = {
    "call": [
        "电话沟通了新一年的采购计划",
        "电话确认报价细节，客户希望再优惠5%",
        "回访使用情况，反馈良好",
    ],
    "visit": [
        "上门拜访，演示了新版本功能",
        "拜访客户工厂，了解生产线改造需求",
        "陪同技术人员现场勘查",
    ],
    "meeting": ["参加客户内部评审会，介绍方案", "与采购、技术三方会议，确定交付时间"],
    "wechat": ["微信发送了产品资料和案例", "微信沟通合同条款修改意见"],
    "email": ["邮件发送正式报价单", "邮件确认样品寄送地址"],
    "other": ["在展会上偶遇，交换了名片"],
}
NEXT_STEPS = ["发送报价", "安排技术交流", "跟进合同审批", "寄送样品", "约下次拜访", ""]
TICKET_TITLES = [
    "设备运行异常报警",
    "系统登录失败",
    "发票信息需更正",
    "配件缺货咨询",
    "安装调试预约",
    "数据导出报错",
    "培训需求",
    "交付延期投诉",
    "售后维修申请",
    "账号权限开通",
]


def _pick(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _company(rng: random.Random, province: str, industry: str) -> str:
    city = rng.choice(CITIES[province])
    return f"{city}{rng.choice(CORES)}{rng.choice(TRADES[industry])}{rng.choice(SUFFIXES)}"


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"


def build_customers(ctx: DemoContext, rng: random.Random, now) -> list[Customer]:
    """The deterministic list of demo customers (unsaved), names unique after normalisation."""
    u = ctx.users
    owners = {"sales1": 45, "sales2": 40, "sales_director": 5}
    industries = {i: w for i, w in zip(TRADES, (14, 14, 5, 8, 5, 6, 6, 6, 5, 3, 6, 2), strict=True)}
    levels = {"A": 10, "B": 25, "C": 45, "D": 20}
    statuses = {"potential": 25, "following": 45, "signed": 22, "lost": 8}
    sources = {
        "website": 20,
        "referral": 20,
        "exhibition": 15,
        "cold_call": 15,
        "advertising": 8,
        "partner": 12,
        "other": 10,
    }
    seen: set[str] = set()
    out = []
    while len(out) < CUSTOMERS:
        province = _pick(rng, PROVINCE_WEIGHTS)
        industry = _pick(rng, industries)
        name = _company(rng, province, industry)
        key = normalize_name(name)
        if key in seen:
            continue
        seen.add(key)
        created = now - dt.timedelta(days=rng.randint(5, 720), minutes=rng.randint(0, 1440))
        in_pool = rng.random() < 0.12
        owner = None if in_pool else u[_pick(rng, owners)]
        area = AREA.get(province, f"0{rng.randint(310, 990)}")
        c = Customer(
            name=name,
            industry=industry,
            source=_pick(rng, sources),
            level=_pick(rng, levels),
            status=_pick(rng, statuses),
            province=province,
            city=rng.choice(CITIES[province]),
            address=f"{rng.choice(STREETS)}{rng.randint(1, 999)}号",
            phone=f"{area}-{rng.randint(60000000, 89999999)}",
            email=f"contact{len(out) + 1}@{pinyin_keys(key)[1][:8] or 'corp'}.com.cn",
            website="" if rng.random() < 0.5 else f"https://www.{pinyin_keys(key)[1][:10]}.cn",
            owner=owner,
            created_at=created,
        )
        if in_pool:
            c.previous_owner = u[rng.choice(["sales1", "sales2"])]
            c.pool_entered_at = created + dt.timedelta(days=rng.randint(1, 4))
            c.pool_reason = rng.choice(["长期无跟进，自动回收", "客户暂无需求", "联系方式失效"])
        else:
            c.owned_since = created
            c.department = owner.department
        out.append(c)
    return out


@transaction.atomic
def seed_data(ctx: DemoContext, rng: random.Random) -> int:
    now = timezone.now()
    planned = build_customers(ctx, rng, now)
    existing = set(
        Customer.objects.filter(
            name_normalized__in=[normalize_name(c.name) for c in planned]
        ).values_list("name_normalized", flat=True)
    )
    new = [c for c in planned if normalize_name(c.name) not in existing]
    if not new:
        return 0
    tag_names = ["VIP", "老客户", "展会", "重点跟进", "招投标", "渠道"]
    for c in new:
        if rng.random() < 0.4:
            c._import_tags = rng.sample(tag_names, rng.randint(1, 2))
    services.customer_bulk_import(by=None, customers=new, batch_size=500)
    # bulk_import stamps "now" on history; the demo's history starts when the customer did.
    CustomerEvent.objects.filter(customer__in=new, kind="created").update(actor=None)

    contacts = []
    for c in new:
        for i in range(rng.choice([1, 1, 2, 2, 3, 4])):
            name = _person(rng)
            full, initials = pinyin_keys(name)
            contacts.append(
                Contact(
                    customer=c,
                    name=name,
                    name_pinyin=full,
                    name_initials=initials,
                    title=TITLES[0] if i == 0 else rng.choice(TITLES[1:]),
                    mobile=_mobile(rng),
                    email=f"{full}@{c.email.split('@')[1]}" if rng.random() < 0.7 else "",
                    wechat=f"wx_{full}{rng.randint(1, 99)}" if rng.random() < 0.5 else "",
                    is_primary=i == 0,
                    created_at=c.created_at,
                    created_by=c.owner,
                )
            )
    Contact.objects.bulk_create(contacts, batch_size=500)
    by_customer: dict[int, list[Contact]] = {}
    for contact in contacts:
        by_customer.setdefault(contact.customer_id, []).append(contact)
    reporting = []
    for group in by_customer.values():
        for contact in group[1:]:
            contact.reports_to = group[0]
            reporting.append(contact)
    Contact.objects.bulk_update(reporting, ["reports_to"], batch_size=500)

    follow_ups, events, touched = [], [], []
    kinds = {"call": 40, "visit": 20, "meeting": 10, "wechat": 20, "email": 8, "other": 2}
    for c in new:
        author = c.owner or c.previous_owner
        if author is None:
            continue
        count = rng.choice([0, 1, 2, 3, 3, 4, 5, 6])
        span = max(1, (now - c.created_at).days)
        when = sorted(
            c.created_at + dt.timedelta(days=rng.randint(0, span), hours=rng.randint(9, 17))
            for _ in range(count)
        )
        when = [min(w, now - dt.timedelta(hours=1)) for w in when]
        group = by_customer.get(c.pk, [])
        for at in when:
            kind = _pick(rng, kinds)
            follow_ups.append(
                FollowUp(
                    customer=c,
                    contact=rng.choice(group) if group else None,
                    kind=kind,
                    content=rng.choice(CONTENTS[kind]),
                    occurred_at=at,
                    next_step=rng.choice(NEXT_STEPS),
                    owner=author,
                    created_at=at,
                    # Older reminders are done; the demo's inbox shows only the latest.
                    reminded_at=at,
                )
            )
        if when:
            c.last_contacted_at = when[-1]
            if c.owner is not None and rng.random() < 0.6:
                c.next_follow_up_at = now + dt.timedelta(days=rng.randint(-3, 14), hours=2)
                follow_ups[-1].next_follow_up_at = c.next_follow_up_at
                follow_ups[-1].reminded_at = None
            touched.append(c)
    FollowUp.objects.bulk_create(follow_ups, batch_size=500)
    for f in follow_ups:
        events.append(
            CustomerEvent(
                customer=f.customer,
                kind=CustomerEvent.Kind.FOLLOWED_UP,
                actor=f.owner,
                at=f.occurred_at,
                payload={"follow_up": f.pk, "follow_up_kind": f.kind},
            )
        )
    CustomerEvent.objects.bulk_create(events, batch_size=500)
    Customer.objects.bulk_update(
        touched, ["last_contacted_at", "next_follow_up_at"], batch_size=500
    )
    ctx.log(
        f"customers: {len(new)} customers, {len(contacts)} contacts, {len(follow_ups)} follow-ups"
    )
    return len(new)


def seed_tickets(ctx: DemoContext, rng: random.Random) -> None:
    """Tickets in every status, made through the services (SLA, history, ratings)."""
    if Ticket.objects.exists():
        return
    u = ctx.users
    service, staff = u["service"], [u["service"], u["sales1"], u["sales2"]]
    customers = list(Customer.objects.filter(status="signed").order_by("pk")[:40])
    if not customers:
        return
    flows = ["new"] * 4 + ["assigned"] * 5 + ["in_progress"] * 5 + ["resolved"] * 6
    flows += ["closed"] * 10 + ["reopened"] * 2
    now = timezone.now()
    for i, flow in enumerate(flows):
        customer = customers[i % len(customers)]
        priority = rng.choice(["low", "normal", "normal", "high", "urgent"])
        t = services.ticket_create(
            customer=customer,
            by=service,
            data={
                "title": rng.choice(TICKET_TITLES),
                "priority": priority,
                "description": "客户来电反映问题，需尽快处理。",
            },
        )
        if flow != "new":
            t = services.ticket_assign(ticket=t, assignee=rng.choice(staff), by=service)
        if flow in ("in_progress", "resolved", "closed", "reopened"):
            t = services.ticket_start(ticket=t, by=None)
        if flow in ("resolved", "closed", "reopened"):
            t = services.ticket_resolve(
                ticket=t, by=None, resolution="远程指导客户完成处理，已确认恢复正常。"
            )
            if rng.random() < 0.8:
                t = services.ticket_rate(
                    ticket=t,
                    by=service,
                    satisfaction=rng.choice([3, 4, 4, 5, 5]),
                    comment=rng.choice(["响应及时", "处理专业", "", "希望再快一些"]),
                )
        if flow in ("closed", "reopened"):
            t = services.ticket_close(ticket=t, by=service)
        if flow == "reopened":
            t = services.ticket_reopen(ticket=t, by=service, reason="问题复现")
        # Spread the tickets over the last weeks; some open ones are past their SLA.
        shift = dt.timedelta(days=rng.randint(0, 30), hours=rng.randint(0, 12))
        Ticket.objects.filter(pk=t.pk).update(
            created_at=now - shift,
            sla_due_at=t.sla_due_at - shift,
            response_due_at=t.response_due_at - shift,
        )
    services.ticket_flag_overdue()
    ctx.log(f"customers: {len(flows)} tickets")


@seeder(order=20)
def seed_customers(ctx: DemoContext) -> None:
    seed_roles(ctx)
    seed_territories(ctx)
    rng = random.Random(SEED)  # noqa: S311 - demo data, not security
    seed_data(ctx, rng)
    seed_tickets(ctx, random.Random(SEED + 1))  # noqa: S311
