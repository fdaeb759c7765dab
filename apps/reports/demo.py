"""Demo company, reports part (DESIGN §6, order 80): sales targets, saved reports, a shared
dashboard, and who may use the report tools. Idempotent like every seeder."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from apps.org.demo import DemoContext, grant_perms, seeder

from .models import Dashboard, DashboardItem, SalesTarget, SavedReport
from .params import add_months

SAVED = [
    ("客户行业分布", "customers", {"dimensions": ["industry"]}, "pie"),
    (
        "商机按月新增（按阶段）",
        "opportunities",
        {
            "dimensions": [{"field": "created_at", "bucket": "month"}, "stage"],
            "measures": [{"agg": "count"}],
            "filters": [{"field": "created_at", "op": "eq", "value": "last_12_months"}],
        },
        "stacked_bar",
    ),
    (
        "各部门合同金额",
        "contracts",
        {
            "dimensions": ["owner__department"],
            "measures": [{"agg": "sum", "field": "amount"}, {"agg": "count"}],
        },
        "bar",
    ),
]


@seeder(order=80)
def seed_reports(ctx: DemoContext) -> None:
    roles, users = ctx.roles, ctx.users
    everyone = [r for r in roles.values()]
    for role in everyone:
        grant_perms(role, ["reports.add_savedreport", "reports.view_savedreport"])
    for name in ("总经理", "销售总监"):
        grant_perms(
            roles[name],
            ["reports.manage_salestarget", "reports.share_dashboard", "reports.view_dashboard"],
        )
    month = timezone.localdate().replace(day=1)
    for offset in range(-2, 4):
        m = add_months(month, offset)
        for username, amount in (("sales1", "300000"), ("sales2", "250000")):
            SalesTarget.objects.get_or_create(
                user=users[username],
                month=m,
                defaults={"amount": Decimal(amount), "updated_by": users["sales_director"]},
            )
        SalesTarget.objects.get_or_create(
            department=ctx.departments["销售部"],
            month=m,
            defaults={"amount": Decimal("800000"), "updated_by": users["ceo"]},
        )
    owner = users["sales_director"]
    saved = []
    for name, source, definition, chart in SAVED:
        report, _created = SavedReport.objects.get_or_create(
            name=name,
            owner=owner,
            defaults={"source": source, "definition": definition, "chart": chart},
        )
        report.shared_roles.add(roles["总经理"], roles["销售代表"])
        saved.append(report)
    board, created = Dashboard.objects.get_or_create(
        name="销售管理驾驶舱", owner=owner, is_home=False
    )
    board.shared_roles.add(roles["总经理"], roles["销售总监"], roles["销售代表"])
    if created:
        widgets = [
            ("funnel", None, 6),
            ("leaderboard", None, 6),
            (None, saved[1], 8),
            (None, saved[0], 4),
            ("payment-forecast", None, 12),
        ]
        for position, (builtin, report, width) in enumerate(widgets):
            DashboardItem.objects.create(
                dashboard=board,
                position=position,
                width=width,
                builtin=builtin or "",
                saved_report=report,
            )
    ctx.log(
        f"reports: {SalesTarget.objects.count()} targets, {len(saved)} saved reports, 1 dashboard"
    )
