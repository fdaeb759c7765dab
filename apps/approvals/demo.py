"""Demo approvals (DESIGN §6): the five templates and a few requests in every state.

Templates are created once (an admin's later edits are kept); requests are created by the real
services, each only if the demo user has no request of that title yet.
"""

from __future__ import annotations

from apps.org.demo import DemoContext, grant_perms, seeder, set_scopes

from . import services
from .models import ApprovalRequest, ApprovalStep, ApprovalTemplate, ApproverType, Kind, SignMode
from .selectors import pending_tasks_for

EVERYONE = ["总经理", "销售总监", "销售代表", "财务", "客服", "市场", "人事"]


def _rule(field: str, op: str, value) -> dict:
    return {"match": "all", "rules": [{"field": field, "op": op, "value": value}]}


def _template(code, name, kind, steps, *, description="", extra_fields=None, order=0):
    template, created = ApprovalTemplate.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "kind": kind,
            "description": description,
            "extra_fields": extra_fields or [],
            "order": order,
        },
    )
    if not created:
        return template
    for index, step in enumerate(steps):
        users = step.pop("users", [])
        cc_roles = step.pop("cc_roles", [])
        row = ApprovalStep.objects.create(template=template, order=index, **step)
        row.approver_users.set(users)
        row.cc_roles.set(cc_roles)
    return template


def seed_templates(ctx: DemoContext) -> None:
    u, r = ctx.users, ctx.roles
    _template(
        "contract",
        "合同审批",
        Kind.CONTRACT,
        [
            {
                "name": "销售总监审批",
                "approver_type": ApproverType.USERS,
                "users": [u["sales_director"]],
            },
            {
                "name": "总经理审批",
                "approver_type": ApproverType.USERS,
                "users": [u["ceo"]],
                "condition": _rule("amount", "gte", "500000"),
                "due_hours": 48,
            },
        ],
        description="合同金额 50 万元及以上需总经理审批。",
        order=10,
    )
    _template(
        "expense",
        "费用报销",
        Kind.EXPENSE,
        [
            {"name": "直属上级审批", "approver_type": ApproverType.MANAGER, "due_hours": 48},
            {"name": "财务审核", "approver_type": ApproverType.USERS, "users": [u["finance"]]},
            {
                "name": "总经理审批",
                "approver_type": ApproverType.USERS,
                "users": [u["ceo"]],
                "condition": _rule("amount", "gt", "100000"),
            },
        ],
        description="请逐条填写费用明细并上传发票。",
        order=20,
    )
    _template(
        "leave",
        "请假",
        Kind.LEAVE,
        [
            {
                "name": "直属上级审批",
                "approver_type": ApproverType.MANAGER,
                "cc_roles": [r["人事"]],
                "due_hours": 24,
            },
            {
                "name": "总经理审批",
                "approver_type": ApproverType.USERS,
                "users": [u["ceo"]],
                "condition": _rule("data.days", "gt", "3"),
                "cc_roles": [r["人事"]],
            },
        ],
        description="超过 3 天的假期需总经理审批，人事部抄送。",
        order=30,
    )
    _template(
        "purchase",
        "采购申请",
        Kind.PURCHASE,
        [
            {
                "name": "财务与总经理会签",
                "approver_type": ApproverType.USERS,
                "users": [u["finance"], u["ceo"]],
                "mode": SignMode.COUNTERSIGN,
            },
        ],
        order=40,
    )
    _template(
        "discount",
        "报价折扣审批",
        Kind.DISCOUNT,
        [
            {
                "name": "销售总监审批",
                "approver_type": ApproverType.USERS,
                "users": [u["sales_director"]],
                "condition": _rule("data.discount", "gt", "15"),
            },
        ],
        description="折扣超过 15% 需销售总监审批。",
        order=50,
        extra_fields=[
            {
                "key": "discount",
                "label": "折扣率 (%)",
                "type": "decimal",
                "required": True,
                "min_value": "0",
                "max_value": "100",
            },
            {"key": "quote_no", "label": "报价单号", "type": "text"},
        ],
    )


def seed_permissions(ctx: DemoContext) -> None:
    for name in EVERYONE:
        grant_perms(
            ctx.roles[name], ["approvals.add_approvalrequest", "approvals.view_approvalrequest"]
        )
    set_scopes(ctx.roles["总经理"], {"approvals.ApprovalRequest": "all"})
    set_scopes(ctx.roles["财务"], {"approvals.ApprovalRequest": "all"})
    set_scopes(ctx.roles["销售总监"], {"approvals.ApprovalRequest": "tree"})
    set_scopes(ctx.roles["人事"], {"approvals.ApprovalRequest": "department"})


def _start(ctx, username, code, title, **kwargs):
    user = ctx.users[username]
    existing = ApprovalRequest.objects.filter(initiator=user, title=title).first()
    if existing is not None:
        return None
    return services.approval_start(template=code, by=user, title=title, **kwargs)


def _decide(ctx, username, request, verb="approve", comment=""):
    user = ctx.users[username]
    task = pending_tasks_for(user).filter(process_id=request.process_id).first()
    service = {
        "approve": services.approval_task_approve,
        "reject": services.approval_task_reject,
        "return": services.approval_task_return,
    }[verb]
    service(task=task, by=user, comment=comment)
    request.refresh_from_db()


def seed_requests(ctx: DemoContext) -> int:
    made = 0
    # Pending at the first step.
    if _start(
        ctx,
        "sales1",
        "leave",
        "年假：回老家",
        data={"type": "annual", "start": "2026-12-28", "end": "2026-12-30", "reason": "回老家探亲"},
    ):
        made += 1
    if r := _start(ctx, "sales1", "contract", "上海华东机电 年度框架合同", amount="680000"):
        made += 1
    # Pending at a later step (5 days of leave needs the CEO).
    if r := _start(
        ctx,
        "sales2",
        "leave",
        "婚假",
        data={"type": "marriage", "start": "2027-01-04", "end": "2027-01-08"},
    ):
        _decide(ctx, "sales_director", r, comment="恭喜！")
        made += 1
    # Approved.
    if r := _start(
        ctx,
        "sales1",
        "expense",
        "11 月北京出差报销",
        data={
            "lines": [
                {
                    "category": "travel",
                    "amount": "1380.00",
                    "date": "2026-11-03",
                    "description": "高铁 上海—北京 往返",
                },
                {
                    "category": "lodging",
                    "amount": "960.00",
                    "date": "2026-11-04",
                    "description": "酒店 2 晚",
                },
                {"category": "meals", "amount": "236.50", "description": "客户午餐"},
            ]
        },
    ):
        _decide(ctx, "sales_director", r, comment="同意")
        _decide(ctx, "finance", r, comment="票据齐全")
        made += 1
    if _start(
        ctx,
        "sales2",
        "discount",
        "苏州精工 报价折扣 10%",
        amount="86000",
        data={"discount": "10", "quote_no": "Q-2026-0117"},
    ):
        made += 1  # 10% needs nobody: approved at once
    # Rejected (countersign: finance agreed, the CEO did not).
    if r := _start(
        ctx,
        "marketing",
        "purchase",
        "展会物料采购",
        data={
            "lines": [
                {"item": "易拉宝", "quantity": "10", "price": "180", "supplier": "上海印象广告"},
                {"item": "展台搭建", "quantity": "1", "price": "45000", "supplier": "上海会展服务"},
            ],
            "reason": "2027 春季展会",
        },
    ):
        _decide(ctx, "finance", r)
        _decide(ctx, "ceo", r, "reject", comment="预算超支，明年一季度再议")
        made += 1
    # Pending countersign: finance agreed, the CEO still has to.
    if r := _start(
        ctx,
        "hr",
        "purchase",
        "新员工笔记本电脑",
        data={
            "lines": [
                {"item": "ThinkPad T14", "quantity": "3", "price": "7299", "supplier": "联想"}
            ]
        },
    ):
        _decide(ctx, "finance", r, comment="预算内")
        made += 1
    # Returned for changes.
    if r := _start(
        ctx,
        "sales2",
        "expense",
        "客户招待费",
        data={
            "lines": [{"category": "entertainment", "amount": "1860.00", "description": "客户晚宴"}]
        },
    ):
        _decide(ctx, "sales_director", r, "return", comment="请补充参加人员和发票")
        made += 1
    # Withdrawn.
    if r := _start(
        ctx,
        "sales1",
        "discount",
        "杭州万达 报价折扣 22%",
        amount="240000",
        data={"discount": "22", "quote_no": "Q-2026-0121"},
    ):
        services.approval_withdraw(
            request=r, by=ctx.users["sales1"], comment="客户改为年付，不再需要折扣"
        )
        made += 1
    return made


@seeder(order=50)
def seed_approvals(ctx: DemoContext) -> None:
    seed_templates(ctx)
    seed_permissions(ctx)
    made = seed_requests(ctx)
    ctx.log(f"approvals: {ApprovalTemplate.objects.count()} templates, {made} new requests")
