"""Demo data of the sales app, contracts part (DESIGN §6): roles' permissions and scopes, the
field policy that hides contract amounts from service, the `invoice` approval template, and
about 140 contracts across the whole flow with payment plans, payments (some instalments
overdue, for the aging report) and invoices in every status.

A few contracts and invoices go through the real services (submitted for approval, approved,
rejected, invoice approved and issued); the bulk is inserted directly with consistent totals
and history rows. Deterministic (seeded generator) and idempotent: the data is made once
(marker: history rows with `{"demo": true}`); roles and policies are re-applied every run.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from apps.org.demo import DemoContext, grant_perms, seeder, set_scopes

SEED = 20261234
CONTRACTS = 140
MODELS = ("sales.Contract", "sales.PaymentPlan", "sales.Payment", "sales.Invoice")
HIDDEN_FROM_SERVICE = ("amount", "received_amount", "invoiced_amount")


def _p(model, *actions):
    return [f"sales.{a}_{model}" for a in actions]


def seed_roles(ctx: DemoContext) -> None:
    from apps.org.services import field_policy_set

    from ..models import Contract

    r = ctx.roles
    crud = ("view", "add", "change", "delete")
    reps = r["销售代表"]
    grant_perms(
        reps,
        _p("contract", "view", "add", "change", "delete")
        + _p("paymentplan", *crud)
        + _p("payment", "view")
        + _p("invoice", "view", "add"),
    )
    set_scopes(reps, dict.fromkeys(MODELS, "own"))
    director = r["销售总监"]
    grant_perms(
        director,
        _p("contract", *crud, "export")
        + _p("paymentplan", *crud)
        + _p("payment", "view", "export")
        + _p("invoice", "view", "add", "export"),
    )
    set_scopes(director, dict.fromkeys(MODELS, "tree"))
    ceo = r["总经理"]
    grant_perms(
        ceo,
        _p("contract", *crud, "export")
        + _p("paymentplan", *crud)
        + _p("payment", "view", "export")
        + _p("invoice", "view", "add", "export"),
    )
    set_scopes(ceo, dict.fromkeys(MODELS, "all"))
    finance = r["财务"]
    grant_perms(
        finance,
        _p("contract", "view", "export")
        + _p("paymentplan", *crud)
        + _p("payment", "view", "add", "delete", "export")
        + _p("invoice", "view", "add", "change", "issue", "export"),
    )
    set_scopes(finance, dict.fromkeys(MODELS, "all"))
    service = r["客服"]
    grant_perms(service, ["sales.view_contract", "sales.deliver_contract"])
    set_scopes(service, {"sales.Contract": "all"})
    # Field security (DESIGN §6): service sees contracts but not their amounts. Everyone else
    # who works with contracts holds the field permissions through their role.
    for name in HIDDEN_FROM_SERVICE:
        field_policy_set(model=Contract, field_name=name, restrict_view=True, restrict_change=True)
        for role in (reps, director, ceo):
            grant_perms(role, [f"sales.view_contract__{name}", f"sales.change_contract__{name}"])
        grant_perms(finance, [f"sales.view_contract__{name}"])


def seed_templates(ctx: DemoContext) -> None:
    """`contract` (from the approvals demo, created early: contracts are submitted here) and
    `invoice` (finance approves), each only if missing."""
    from apps.approvals import demo as approvals_demo
    from apps.approvals.models import ApprovalTemplate, ApproverType, Kind

    approvals_demo.seed_templates(ctx)
    if not ApprovalTemplate.objects.filter(code="invoice").exists():
        approvals_demo._template(
            "invoice",
            "开票申请",
            Kind.INVOICE,
            [
                {
                    "name": "财务审核",
                    "approver_type": ApproverType.USERS,
                    "users": [ctx.users["finance"]],
                    "due_hours": 24,
                }
            ],
            description="销售申请开票，财务审核后开具。",
            order=60,
        )


TITLES = [
    "年度软件许可及服务合同",
    "设备采购合同",
    "系统集成项目合同",
    "技术服务框架协议",
    "运维服务合同",
    "定制开发合同",
    "备件供应合同",
    "培训与咨询服务合同",
]
BANKS = ["中国工商银行上海分行", "招商银行北京分行", "中国建设银行杭州分行", "交通银行南京分行"]


def _amount(rng) -> Decimal:
    base = rng.choice([28, 45, 68, 86, 120, 150, 198, 260, 380, 520, 680, 960])
    return (Decimal(base) * 1000 + Decimal(rng.randrange(0, 100)) * 100).quantize(Decimal("0.01"))


def _split(amount: Decimal, parts: int) -> list[Decimal]:
    shares = {
        1: [1],
        2: [Decimal("0.3"), Decimal("0.7")],
        3: [Decimal("0.3"), Decimal("0.6"), Decimal("0.1")],
    }[parts]
    out = [(amount * Decimal(s)).quantize(Decimal("0.01")) for s in shares[:-1]]
    out.append(amount - sum(out, Decimal(0)))
    return out


def seed_bulk(ctx: DemoContext, rng: random.Random) -> int:
    from apps.customers.models import Customer

    from ..models import Contract, ContractEvent, Invoice, Opportunity, Payment, PaymentPlan
    from ..services.contracts_numbering import next_contract_number

    S, K = Contract.Status, ContractEvent.Kind
    u = ctx.users
    today = timezone.localdate()
    owners = [u["sales1"], u["sales2"], u["sales_director"]]
    customers = list(
        Customer.objects.filter(owner__in=owners)
        .select_related("owner")
        .order_by("pk")[: CONTRACTS * 2]
    )
    if not customers:
        return 0
    won = {
        o.customer_id: o
        for o in Opportunity.objects.filter(status=Opportunity.Status.WON, customer__in=customers)
    }
    statuses = (
        [S.DRAFT] * 12
        + [S.REJECTED] * 5
        + [S.APPROVED] * 14
        + [S.SIGNED] * 22
        + [S.EXECUTING] * 50
        + [S.COMPLETED] * 30
        + [S.TERMINATED] * 7
    )
    first = int(next_contract_number().rsplit("-", 1)[1])
    year = today.year
    contracts, plan_rows, pay_rows, inv_rows = [], [], [], []
    for i in range(CONTRACTS):
        customer = customers[rng.randrange(len(customers))] if i >= len(customers) else customers[i]
        status = statuses[i % len(statuses)]
        amount = _amount(rng)
        age = rng.randrange(5, 420)  # days since created
        created = timezone.now() - dt.timedelta(days=age, hours=rng.randrange(0, 10))
        signed = None
        if status in (S.SIGNED, S.EXECUTING, S.COMPLETED, S.TERMINATED):
            signed = today - dt.timedelta(days=max(age - rng.randrange(1, 5), 1))
        delivery = Contract.Delivery.PENDING_REVIEW
        if status == S.EXECUTING:
            delivery = rng.choice(
                [
                    Contract.Delivery.IN_PRODUCTION,
                    Contract.Delivery.SHIPPED,
                    Contract.Delivery.DELIVERED,
                ]
            )
        elif status == S.COMPLETED:
            delivery = Contract.Delivery.DELIVERED
        elif status == S.SIGNED:
            delivery = rng.choice(
                [Contract.Delivery.PENDING_REVIEW, Contract.Delivery.IN_PRODUCTION]
            )
        c = Contract(
            number=f"HT-{year}-{first + i:06d}",
            title=f"{customer.name[:20]} {rng.choice(TITLES)}",
            customer=customer,
            opportunity=won.get(customer.pk),
            amount=amount,
            signed_date=signed,
            start_date=signed,
            end_date=(signed + dt.timedelta(days=365)) if signed else None,
            status=status,
            delivery_status=delivery,
            terms="付款方式：按付款计划电汇。质保期一年。",
            owner=customer.owner,
            department=customer.owner.department,
            created_by=customer.owner,
            created_at=created,
        )
        # Payment plan and money for contracts from approval on.
        plans, pays, invs = [], [], []
        if status in (S.APPROVED, S.SIGNED, S.EXECUTING, S.COMPLETED, S.TERMINATED):
            start = signed or (today - dt.timedelta(days=max(age - 3, 0)))
            parts = rng.choice([1, 2, 2, 3, 3])
            offsets = [0, 60, 150][:parts]
            for seq, (share, offset) in enumerate(
                zip(_split(amount, parts), offsets, strict=True), start=1
            ):
                plans.append((seq, start + dt.timedelta(days=offset + 15), share))
            if status == S.COMPLETED:
                paid_parts = parts
            elif status in (S.EXECUTING, S.SIGNED):
                # Some instalments already due stay unpaid: the aging report shows them.
                due = [p for p in plans if p[1] <= today]
                paid_parts = max(0, len(due) - (1 if rng.random() < 0.45 else 0))
            else:
                paid_parts = 0
            received = Decimal("0.00")
            for seq, due, share in plans[:paid_parts]:
                when = min(due + dt.timedelta(days=rng.randrange(-5, 20)), today)
                pays.append((seq, share, when))
                received += share
            if status == S.EXECUTING and paid_parts < len(plans) and rng.random() < 0.3:
                # a partial payment of the next instalment
                seq, due, share = plans[paid_parts]
                part = (share / 2).quantize(Decimal("0.01"))
                pays.append((seq, part, min(today, due)))
                received += part
            c.received_amount = received
            invoiced = Decimal("0.00")
            for _seq, share, when in pays:
                if rng.random() < 0.8:
                    invs.append((Invoice.Status.ISSUED, share, when))
                    invoiced += share
            if status in (S.EXECUTING, S.SIGNED, S.APPROVED) and amount - invoiced > 0:
                roll = rng.random()
                if roll < 0.25:
                    left = ((amount - invoiced) / 2).quantize(Decimal("0.01"))
                    invs.append(
                        (
                            Invoice.Status.REQUESTED,
                            left,
                            today - dt.timedelta(days=rng.randrange(0, 5)),
                        )
                    )
                    invoiced += left
                elif roll < 0.35:
                    invs.append(
                        (
                            Invoice.Status.REJECTED,
                            (amount - invoiced).quantize(Decimal("0.01")),
                            today - dt.timedelta(days=9),
                        )
                    )
            c.invoiced_amount = invoiced
        contracts.append((c, plans, pays, invs))
    Contract.objects.bulk_create([c for c, *_rest in contracts], batch_size=500)
    events = []
    for c, plans, _pays, _invs in contracts:
        events.append(
            ContractEvent(
                contract=c,
                kind=K.CREATED,
                actor=c.owner,
                at=c.created_at,
                payload={"demo": True, "number": c.number},
            )
        )
        flow = {
            S.REJECTED: [K.SUBMITTED, K.REJECTED],
            S.APPROVED: [K.SUBMITTED, K.APPROVED],
            S.SIGNED: [K.SUBMITTED, K.APPROVED, K.SIGNED],
            S.EXECUTING: [K.SUBMITTED, K.APPROVED, K.SIGNED, K.EXECUTING],
            S.COMPLETED: [K.SUBMITTED, K.APPROVED, K.SIGNED, K.EXECUTING, K.COMPLETED],
            S.TERMINATED: [K.SUBMITTED, K.APPROVED, K.SIGNED, K.TERMINATED],
        }.get(c.status, [])
        for step, kind in enumerate(flow, start=1):
            payload = {"reason": "客户项目取消"} if kind == K.TERMINATED else {}
            events.append(
                ContractEvent(
                    contract=c,
                    kind=kind,
                    actor=c.owner,
                    at=c.created_at + dt.timedelta(days=step),
                    payload=payload,
                )
            )
        for seq, due, share in plans:
            plan_rows.append(
                PaymentPlan(contract=c, seq=seq, due_date=due, amount=share, note=f"第{seq}期")
            )
    PaymentPlan.objects.bulk_create(plan_rows, batch_size=1000)
    plan_by = {
        (p.contract_id, p.seq): p
        for p in PaymentPlan.objects.filter(contract__in=[c for c, *_r in contracts])
    }
    finance = u["finance"]
    methods = [Payment.Method.BANK_TRANSFER] * 6 + [
        Payment.Method.ACCEPTANCE_BILL,
        Payment.Method.CHEQUE,
    ]
    for c, _plans, pays, invs in contracts:
        for seq, share, when in pays:
            pay_rows.append(
                Payment(
                    contract=c,
                    plan=plan_by.get((c.pk, seq)),
                    amount=share,
                    received_at=when,
                    method=rng.choice(methods),
                    reference=f"BK{when:%Y%m%d}{rng.randrange(100000, 999999)}",
                    recorded_by=finance,
                )
            )
            events.append(
                ContractEvent(
                    contract=c,
                    kind=K.PAYMENT,
                    actor=finance,
                    at=timezone.make_aware(dt.datetime.combine(when, dt.time(10, 0))),
                    payload={"amount": str(share)},
                )
            )
        for status, share, when in invs:
            issued = status == Invoice.Status.ISSUED
            inv_rows.append(
                Invoice(
                    contract=c,
                    kind=Invoice.Kind.VAT_SPECIAL
                    if c.amount > 100000
                    else Invoice.Kind.VAT_ORDINARY,
                    title=c.customer.name,
                    tax_number=f"91310000{rng.randrange(10**9, 10**10)}",
                    amount=share,
                    status=status,
                    address_phone=f"{c.customer.province}{c.customer.city} "
                    f"021-6{rng.randrange(1000000, 9999999)}",
                    bank_account=f"{rng.choice(BANKS)} 6222{rng.randrange(10**11, 10**12)}",
                    invoice_number=f"{rng.randrange(10**7, 10**8)}" if issued else "",
                    issued_date=when if issued else None,
                    reject_reason="开票信息与合同抬头不一致"
                    if status == Invoice.Status.REJECTED
                    else "",
                    requested_by=c.owner,
                    issued_by=finance if issued else None,
                    created_at=timezone.make_aware(dt.datetime.combine(when, dt.time(9, 0))),
                )
            )
    Payment.objects.bulk_create(pay_rows, batch_size=1000)
    Invoice.objects.bulk_create(inv_rows, batch_size=1000)
    ContractEvent.objects.bulk_create(events, batch_size=1000)
    return len(contracts)


def seed_flows(ctx: DemoContext) -> int:
    """A few contracts and invoices through the real services and approvals."""
    from apps.approvals.selectors import pending_tasks_for
    from apps.approvals.services import approval_task_approve, approval_task_reject
    from apps.customers.models import Customer

    from ..services import contracts as services
    from ..services import contracts_invoices as invoices
    from ..services import contracts_payments as payments

    u = ctx.users

    def decide(username, contract_or_invoice, verb="approve", comment=""):
        user = u[username]
        contract_or_invoice.refresh_from_db()
        req = contract_or_invoice.approval
        task = pending_tasks_for(user).filter(process_id=req.process_id).first()
        (approval_task_approve if verb == "approve" else approval_task_reject)(
            task=task, by=user, comment=comment
        )

    made = 0
    today = timezone.localdate()
    plans = [
        ("sales1", "年度框架采购合同（待审批）", "186000.00", []),
        ("sales1", "智能产线改造项目合同（待总经理审批）", "720000.00", ["sales_director"]),
        ("sales2", "华北区域运维服务合同（待审批）", "98000.00", []),
        ("sales2", "数据平台建设合同（已驳回）", "560000.00", ["reject:sales_director"]),
        ("sales1", "备件年度供应合同（审批通过）", "240000.00", ["sales_director"]),
    ]
    for username, title, amount, steps in plans:
        owner = u[username]
        customer = Customer.objects.filter(owner=owner).order_by("-pk").first()
        if customer is None:
            continue
        contract = services.contract_create(
            by=owner,
            data={"customer": customer, "title": f"{customer.name[:16]} {title}", "amount": amount},
        )
        services.contract_submit(contract=contract, by=owner)
        for step in steps:
            verb, _sep, who = step.rpartition(":")
            decide(
                who,
                contract,
                "reject" if verb == "reject" else "approve",
                "请补充交付范围" if verb else "同意",
            )
        made += 1
        contract.refresh_from_db()
        if contract.status == contract.Status.APPROVED:
            # Signed, a plan of two instalments, the deposit paid, invoices through approval.
            services.contract_sign(contract=contract, by=owner, signed_date=today)
            payments.plan_save(
                contract=contract,
                by=owner,
                data={"due_date": today, "amount": Decimal("72000.00"), "note": "预付款"},
            )
            payments.plan_save(
                contract=contract,
                by=owner,
                data={
                    "due_date": today + dt.timedelta(days=2),
                    "amount": Decimal("168000.00"),
                    "note": "到货款",
                },
            )
            payments.payment_record(
                contract=contract,
                by=u["finance"],
                data={"amount": "72000.00", "received_at": today, "reference": "BK-DEMO-0001"},
            )
            base = {
                "kind": "vat_special",
                "tax_number": "91310115MA1K3XXX8Q",
                "address_phone": "上海市浦东新区 021-58880000",
                "bank_account": "招商银行上海分行 121900000010001",
            }
            first = invoices.invoice_request(
                contract=contract, by=owner, data={**base, "amount": "72000.00"}
            )
            decide("finance", first)
            first.refresh_from_db()
            invoices.invoice_issue(
                invoice=first, by=u["finance"], invoice_number="31002600001234", issued_date=today
            )
            second = invoices.invoice_request(
                contract=contract, by=owner, data={**base, "amount": "100000.00"}
            )
            decide("finance", second)  # approved, waiting to be issued
            invoices.invoice_request(
                contract=contract, by=owner, data={**base, "amount": "20000.00"}
            )  # pending
    return made


@seeder(order=34)
def seed_contracts(ctx: DemoContext) -> None:
    from ..models import Contract, ContractEvent

    seed_roles(ctx)
    seed_templates(ctx)
    if ContractEvent.objects.filter(Q(payload__demo=True)).exists():
        ctx.log(f"contracts: {Contract.objects.count()} contracts (demo data already there)")
        return
    rng = random.Random(SEED)  # noqa: S311 - demo data, not security
    bulk = seed_bulk(ctx, rng)
    flows = seed_flows(ctx)
    ctx.log(
        f"contracts: {bulk} contracts with plans, payments and invoices; {flows} through approval"
    )
