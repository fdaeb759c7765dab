"""The automation engine: triggers, conditions, actions, templates, loop guard, retries, log."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.customers.models import Customer, CustomerEvent
from apps.customers.services import customer_create, customer_update, follow_up_log
from apps.notify.models import Notification
from apps.studio.automation import ActionSpec, engine, register_action, registry, unregister_action
from apps.studio.automation.conditions import evaluate_one
from apps.studio.automation.templating import check, render
from apps.studio.models import (
    AutomationEvent,
    AutomationRule,
    FieldDefinition,
    RuleAction,
    RuleCondition,
    RuleRun,
)
from tests.customers.factories import CustomerFactory
from tests.org.factories import UserFactory

pytestmark = pytest.mark.django_db


def make_rule(*, trigger="created", conditions=(), actions=(), match="all", **kw) -> AutomationRule:
    rule = AutomationRule.objects.create(
        name=kw.pop("name", "rule"),
        content_type=ContentType.objects.get_for_model(kw.pop("model", Customer)),
        trigger=trigger,
        match=match,
        **kw,
    )
    for i, (field, op, value) in enumerate(conditions):
        c = RuleCondition(rule=rule, field=field, operator=op, value=value, order=i)
        c.full_clean()
        c.save()
    for i, (kind, params) in enumerate(actions):
        a = RuleAction(rule=rule, kind=kind, params=params, order=i)
        a.full_clean()
        a.save()
    return rule


@pytest.fixture
def owner(db):
    return UserFactory(username="rep", email="rep@example.com", mobile="13800000001")


@pytest.fixture
def run_commits(django_capture_on_commit_callbacks):
    """Run after-commit callbacks (and the eager Celery tasks they queue) as they come."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


NOTIFY_OWNER = ("notify", {"owner": True, "message": "New: {customer.name} ({customer.level})"})


# --- triggers ------------------------------------------------------------------------------
def test_created_trigger_runs_the_actions_after_commit_and_logs_the_run(owner, run_commits):
    make_rule(actions=[NOTIFY_OWNER])
    customer = run_commits(
        customer_create, by=None, data={"name": "华为", "level": "A"}, owner=owner
    )
    run = RuleRun.objects.get()
    assert run.status == RuleRun.Status.SUCCEEDED
    assert (run.object_id, run.record_label, run.attempts) == (customer.pk, "华为", 1)
    assert run.actions_done[0]["action"] == "notify"
    n = Notification.objects.get(recipient=owner)
    assert n.message == "New: 华为 (A · key account)"  # choice labels
    assert AutomationEvent.objects.get().status == AutomationEvent.Status.DONE


def test_nothing_runs_before_the_commit_or_after_a_rollback(
    owner, django_capture_on_commit_callbacks
):
    make_rule(actions=[NOTIFY_OWNER])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        customer_create(by=None, data={"name": "腾讯"}, owner=owner)
    assert RuleRun.objects.count() == 0 and callbacks  # queued for the commit only


def test_updated_trigger_fires_on_real_changes_only(owner, run_commits):
    make_rule(trigger="updated", actions=[NOTIFY_OWNER])
    customer = CustomerFactory(owner=owner)
    run_commits(customer_update, customer=customer, by=None, data={"name": customer.name})
    assert RuleRun.objects.count() == 0
    run_commits(customer_update, customer=customer, by=None, data={"city": "杭州"})
    assert RuleRun.objects.count() == 1


def test_field_changed_from_to(owner, run_commits):
    make_rule(
        trigger="field_changed",
        trigger_field="status",
        from_value="following",
        to_value="signed",
        actions=[NOTIFY_OWNER],
    )
    customer = CustomerFactory(owner=owner, status="potential")
    run_commits(customer_update, customer=customer, by=None, data={"status": "signed"})
    assert RuleRun.objects.count() == 0  # from potential, not from following
    run_commits(customer_update, customer=customer, by=None, data={"status": "following"})
    run_commits(customer_update, customer=customer, by=None, data={"level": "B"})
    assert RuleRun.objects.count() == 0
    run_commits(customer_update, customer=customer, by=None, data={"status": "signed"})
    assert RuleRun.objects.count() == 1


def test_field_changed_to_value_matches_a_record_created_with_it(owner, run_commits):
    make_rule(
        trigger="field_changed", trigger_field="status", to_value="signed", actions=[NOTIFY_OWNER]
    )
    run_commits(customer_create, by=None, data={"name": "甲", "status": "signed"}, owner=owner)
    run_commits(customer_create, by=None, data={"name": "乙", "status": "potential"}, owner=owner)
    assert list(RuleRun.objects.values_list("record_label", flat=True)) == ["甲"]


def test_field_changed_on_a_custom_field(owner, run_commits):
    ct = ContentType.objects.get_for_model(Customer)
    FieldDefinition.objects.create(content_type=ct, key="tier", label="Tier", type="text")
    make_rule(
        trigger="field_changed",
        trigger_field="custom.tier",
        to_value="gold",
        actions=[NOTIFY_OWNER],
    )
    customer = CustomerFactory(owner=owner)
    run_commits(customer_update, customer=customer, by=None, data={"custom": {"tier": "silver"}})
    run_commits(customer_update, customer=customer, by=None, data={"custom": {"tier": "gold"}})
    assert RuleRun.objects.count() == 1


def test_follow_up_logged_is_an_event_of_the_follow_up_and_of_the_customer(owner, run_commits):
    from apps.customers.models import FollowUp

    make_rule(
        model=FollowUp, actions=[("notify", {"owner": True, "message": "{follow_up.content}"})]
    )
    make_rule(
        trigger="field_changed",
        trigger_field="status",
        to_value="following",
        actions=[NOTIFY_OWNER],
    )
    from tests.org.factories import make_role

    make_role("rep", Customer, actions=["view", "change"], scope="own", members=[owner])
    make_role("fu", FollowUp, actions=["add"], members=[owner])
    customer = CustomerFactory(owner=owner, status="potential")
    run_commits(follow_up_log, customer=customer, by=owner, data={"content": "打电话"})
    assert RuleRun.objects.count() == 2


def test_an_inactive_rule_or_another_model_does_not_fire(owner, run_commits):
    from apps.customers.models import Ticket

    make_rule(actions=[NOTIFY_OWNER], active=False)
    make_rule(model=Ticket, actions=[("notify", {"owner": True, "message": "x"})])
    run_commits(customer_create, by=None, data={"name": "丙"}, owner=owner)
    assert RuleRun.objects.count() == 0
    assert AutomationEvent.objects.count() == 0  # no rule watches customers: no outbox row


# --- conditions ----------------------------------------------------------------------------
@pytest.fixture
def tiered(db):
    ct = ContentType.objects.get_for_model(Customer)
    FieldDefinition.objects.create(content_type=ct, key="budget", label="Budget", type="decimal")
    FieldDefinition.objects.create(
        content_type=ct,
        key="tags",
        label="Tags",
        type="multichoice",
        choices=[{"value": "vip", "label": "VIP"}, {"value": "gov", "label": "Gov"}],
    )
    FieldDefinition.objects.create(content_type=ct, key="renewal", label="Renewal", type="date")
    soon = timezone.now() + dt.timedelta(days=2)
    return CustomerFactory(
        name="Acme Trading",
        level="A",
        status="following",
        province="浙江",
        city="",
        next_follow_up_at=soon,
        custom={"budget": "1200.50", "tags": ["vip"], "renewal": "2030-01-31"},
    )


class Cond:
    def __init__(self, field, operator, value=""):
        self.field, self.operator, self.value = field, operator, value


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("level", "eq", "A", True),
        ("level", "eq", "B", False),
        ("level", "ne", "B", True),
        ("name", "contains", "acme", True),
        ("name", "not_contains", "acme", False),
        ("name", "starts_with", "Acme", True),
        ("status", "in", "potential, following", True),
        ("status", "not_in", "potential, following", False),
        ("city", "is_empty", "", True),
        ("province", "is_not_empty", "", True),
        ("level", "gt", "B", False),  # text ordering: "A" < "B"
        ("level", "lt", "B", True),
        ("next_follow_up_at", "lte", "today+3", True),
        ("next_follow_up_at", "gte", "today+3", False),
        ("next_follow_up_at", "gt", "today", True),
        ("custom.budget", "gt", "1000", True),
        ("custom.budget", "gte", "1200.50", True),
        ("custom.budget", "lt", "1000", False),
        ("custom.budget", "lte", "1200.5", True),
        ("custom.budget", "eq", "1200.5", True),
        ("custom.tags", "contains", "vip", True),
        ("custom.tags", "in", "gov,vip", True),
        ("custom.tags", "not_in", "gov", True),
        ("custom.renewal", "gt", "2029-12-31", True),
        ("custom.renewal", "lt", "today", False),
        ("custom.missing", "is_empty", "", True),
        ("custom.budget", "is_not_empty", "", True),
        ("satisfaction_avg", "is_empty", "", True),
    ],
)
def test_operators(tiered, field, op, value, expected):
    spec = registry.spec_for(Customer)
    assert evaluate_one(spec, tiered, Cond(field, op, value), {}) is expected


def test_changed_operator_looks_at_the_event(tiered):
    spec = registry.spec_for(Customer)
    assert evaluate_one(spec, tiered, Cond("level", "changed"), {"level": ["B", "A"]})
    assert not evaluate_one(spec, tiered, Cond("level", "changed"), {"city": ["", "x"]})
    assert evaluate_one(spec, tiered, Cond("custom.tags", "changed"), {"custom": ["tags"]})


def test_all_or_any(owner, run_commits):
    both = [("level", "eq", "A"), ("province", "eq", "北京")]
    make_rule(name="all", conditions=both, actions=[NOTIFY_OWNER])
    make_rule(name="any", conditions=both, match="any", actions=[NOTIFY_OWNER])
    run_commits(
        customer_create, by=None, data={"name": "丁", "level": "A", "province": "上海"}, owner=owner
    )
    assert [r.rule.name for r in RuleRun.objects.select_related("rule")] == ["any"]


def test_bad_condition_values_are_refused_when_saved(db):
    rule = make_rule()
    for field, op, value in [
        ("nope", "eq", "1"),
        ("next_follow_up_at", "gt", "next tuesday"),
        ("owner", "eq", "abc"),
    ]:
        with pytest.raises(ValidationError):
            RuleCondition(rule=rule, field=field, operator=op, value=value).full_clean()


def test_rule_validation(db):
    ct = ContentType.objects.get_for_model(Customer)
    with pytest.raises(ValidationError) as exc:
        AutomationRule(name="x", content_type=ct, trigger="field_changed").full_clean()
    assert "trigger_field" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        AutomationRule(
            name="x", content_type=ct, trigger="schedule", schedule_field="name"
        ).full_clean()
    assert "schedule_field" in exc.value.message_dict
    other = ContentType.objects.get_for_model(RuleRun)
    with pytest.raises(ValidationError) as exc:
        AutomationRule(name="x", content_type=other).full_clean()
    assert "content_type" in exc.value.message_dict


# --- templates -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "attack",
    [
        "{customer.__class__}",
        "{customer.owner.password}",
        "{customer.name.__class__.__mro__}",
        "{0.__class__}",
        "{customer.custom.__class__}",
        "{customer.save}",
        "{customer.created_by}",
        "{customer.name!r}",
        "{customer.name:>99999}",
    ],
)
def test_templates_never_reach_attributes_or_code(owner, attack):
    customer = CustomerFactory(owner=owner, name="Acme")
    spec = registry.spec_for(Customer)
    out = render(attack, spec, customer)
    assert "pbkdf2" not in out and "md5" not in out and "class" not in out.replace(attack, "")
    assert out == attack  # left as typed: nothing evaluated
    with pytest.raises(ValidationError):
        check(attack, spec)


@pytest.mark.parametrize("text", ["{{ customer.owner.password }}", "{% debug %}", "{{7*7}}"])
def test_django_template_syntax_is_plain_text(owner, text):
    customer = CustomerFactory(owner=owner)
    spec = registry.spec_for(Customer)
    assert render(text, spec, customer) == text


def test_templates_fill_whitelisted_fields_and_custom_fields(owner):
    ct = ContentType.objects.get_for_model(Customer)
    FieldDefinition.objects.create(
        content_type=ct,
        key="tier",
        label="Tier",
        type="choice",
        choices=[{"value": "g", "label": "Gold"}],
    )
    customer = CustomerFactory(owner=owner, name="Acme", status="signed", custom={"tier": "g"})
    spec = registry.spec_for(Customer)
    text = "{customer.name}/{record.status}/{customer.owner}/{customer.custom.tier}/{customer.city}"
    assert check(text, spec) == text
    assert render(text, spec, customer) == f"Acme/Signed/{owner}/Gold/"


def test_action_params_are_validated(db):
    rule = make_rule()
    with pytest.raises(ValidationError):
        RuleAction(
            rule=rule, kind="notify", params={"owner": True, "message": "{x.y}"}
        ).full_clean()
    with pytest.raises(ValidationError):
        RuleAction(rule=rule, kind="notify", params={"message": "hi"}).full_clean()
    with pytest.raises(ValidationError):
        RuleAction(rule=rule, kind="set_field", params={"field": "name", "value": "x"}).full_clean()
    with pytest.raises(ValidationError):
        RuleAction(rule=rule, kind="no_such_action", params={}).full_clean()


# --- actions -------------------------------------------------------------------------------
def test_set_field_goes_through_the_service_with_history(owner, run_commits):
    make_rule(
        actions=[
            ("set_field", {"field": "level", "value": "A"}),
            ("set_field", {"field": "next_follow_up_at", "value": "today+3"}),
        ]
    )
    customer = run_commits(customer_create, by=None, data={"name": "戊", "level": "C"}, owner=owner)
    customer.refresh_from_db()
    assert customer.level == "A"
    assert timezone.localtime(customer.next_follow_up_at).date() == (
        timezone.localdate() + dt.timedelta(days=3)
    )
    event = CustomerEvent.objects.filter(customer=customer, kind="updated").first()
    assert event is not None and event.actor_id is None  # the system did it


def test_assign_owner_round_robin_and_user(owner, run_commits):
    a, b = UserFactory(), UserFactory()
    make_rule(actions=[("assign_owner", {"mode": "round_robin", "users": [a.pk, b.pk]})])
    got = []
    for name in ["一", "二", "三"]:
        c = run_commits(customer_create, by=None, data={"name": name}, owner=owner)
        c.refresh_from_db()
        got.append(c.owner_id)
    assert got == [a.pk, b.pk, a.pk]


def test_assign_owner_by_territory(owner, run_commits):
    from tests.customers.factories import TerritoryFactory

    east = UserFactory()
    TerritoryFactory(name="华东", provinces=["浙江"], owner=east)
    make_rule(actions=[("assign_owner", {"mode": "territory", "users": [owner.pk]})])
    c1 = run_commits(customer_create, by=None, data={"name": "浙", "province": "浙江"}, owner=None)
    c2 = run_commits(customer_create, by=None, data={"name": "疆", "province": "新疆"}, owner=None)
    c1.refresh_from_db(), c2.refresh_from_db()
    assert (c1.owner_id, c2.owner_id) == (east.pk, owner.pk)


def test_notify_roles_and_manager(run_commits):
    from tests.org.factories import make_role

    boss = UserFactory()
    rep = UserFactory(manager=boss)
    fin = UserFactory()
    make_role("财务", Customer, members=[fin])
    make_rule(
        actions=[
            ("notify", {"owner_manager": True, "roles": ["财务"], "message": "{customer.name}"})
        ]
    )
    run_commits(customer_create, by=None, data={"name": "己"}, owner=rep)
    assert set(Notification.objects.values_list("recipient_id", flat=True)) == {boss.pk, fin.pk}


# --- failures, retries, idempotency, loops -------------------------------------------------
@pytest.fixture
def flaky():
    state = {"fail": True, "calls": 0}

    def run(ctx):
        state["calls"] += 1
        if state["fail"]:
            raise RuntimeError("gateway down")
        return {"ok": True}

    register_action(ActionSpec(key="test_flaky", label="flaky", run=run))
    yield state
    unregister_action("test_flaky")


def test_a_failing_action_never_undoes_the_business_action_and_is_logged(owner, run_commits, flaky):
    make_rule(actions=[NOTIFY_OWNER, ("test_flaky", {})])
    customer = run_commits(customer_create, by=None, data={"name": "庚"}, owner=owner)
    assert Customer.objects.filter(pk=customer.pk).exists()
    run = RuleRun.objects.get()
    assert run.status == RuleRun.Status.FAILED
    assert "RuntimeError: gateway down" in run.error
    assert [d["action"] for d in run.actions_done] == ["notify"]  # the first one stays done

    # The admin re-runs it once the gateway is back: the done action is not repeated.
    flaky["fail"] = False
    run_commits(engine.rerun, run)
    run.refresh_from_db()
    assert run.status == RuleRun.Status.SUCCEEDED and run.attempts == 2
    assert Notification.objects.filter(recipient=owner).count() == 1
    assert flaky["calls"] == 2


def test_retry_with_backoff_outside_eager_mode(owner, flaky, monkeypatch):
    """A worker (not eager) retries a failed run with growing delays."""
    from apps.studio import tasks

    rule = make_rule(actions=[("test_flaky", {})])
    run = RuleRun.objects.create(
        rule=rule,
        content_type=rule.content_type,
        object_id=CustomerFactory(owner=owner).pk,
        idempotency_key="k1",
        trigger="created",
    )
    delays = []

    def fake_retry(self, exc=None, countdown=None, **kw):
        delays.append(countdown)
        raise RuntimeError("retry scheduled")

    monkeypatch.setattr(tasks.execute_run, "retry", fake_retry.__get__(tasks.execute_run))
    for retries in range(3):
        tasks.execute_run.push_request(retries=retries, is_eager=False)
        try:
            with pytest.raises(RuntimeError, match="retry scheduled"):
                tasks.execute_run.run(run.pk)
        finally:
            tasks.execute_run.pop_request()
    assert delays == [10, 60, 300]
    run.refresh_from_db()
    assert run.status == RuleRun.Status.PENDING and run.attempts == 3
    tasks.execute_run.push_request(retries=tasks.execute_run.max_retries, is_eager=False)
    try:
        assert tasks.execute_run.run(run.pk) == RuleRun.Status.FAILED
    finally:
        tasks.execute_run.pop_request()


def test_evaluating_or_running_twice_applies_nothing_twice(owner, run_commits):
    make_rule(actions=[NOTIFY_OWNER])
    run_commits(customer_create, by=None, data={"name": "辛"}, owner=owner)
    event = AutomationEvent.objects.get()
    run = RuleRun.objects.get()
    AutomationEvent.objects.filter(pk=event.pk).update(status="pending")  # redelivered
    assert engine.evaluate(event.pk) == []
    assert engine.execute(run.pk, final_attempt=True) == "noop"
    RuleRun.objects.filter(pk=run.pk).update(status="running")  # a worker died after the action
    assert engine.execute(run.pk, final_attempt=True) == RuleRun.Status.SUCCEEDED
    assert Notification.objects.filter(recipient=owner).count() == 1
    assert RuleRun.objects.count() == 1


def test_loop_guard_stops_a_rule_that_retriggers_itself(owner, run_commits, settings):
    settings.WEFT_AUTOMATION_MAX_DEPTH = 2
    # Each run writes the follow-up date, which is an update, which fires the rule again.
    make_rule(
        trigger="updated",
        actions=[("set_field", {"field": "next_follow_up_at", "value": "today+1"})],
    )
    customer = CustomerFactory(owner=owner, level="C")
    run_commits(customer_update, customer=customer, by=None, data={"city": "苏州"})
    runs = list(RuleRun.objects.order_by("depth").values_list("depth", "status"))
    assert runs == [(0, "succeeded"), (1, "succeeded"), (2, "skipped")]


def test_loop_guard_with_a_rule_that_always_changes_something(owner, run_commits, settings):
    settings.WEFT_AUTOMATION_MAX_DEPTH = 3
    make_rule(
        trigger="field_changed",
        trigger_field="level",
        actions=[("set_field", {"field": "level", "value": "A"})],
        name="to A",
    )
    make_rule(
        trigger="field_changed",
        trigger_field="level",
        actions=[("set_field", {"field": "level", "value": "B"})],
        name="to B",
    )
    customer = CustomerFactory(owner=owner, level="C")
    run_commits(customer_update, customer=customer, by=None, data={"level": "D"})
    depths = sorted(RuleRun.objects.values_list("depth", flat=True))
    assert max(depths) == 3
    skipped = RuleRun.objects.filter(status="skipped")
    assert skipped.exists() and all("loop guard" in r.error for r in skipped)
    assert set(skipped.values_list("depth", flat=True)) == {3}
    # Two rules feeding each other: at most 2 + 4 + 8 runs, and 16 refused at the limit.
    assert RuleRun.objects.count() <= 30


# --- the daily schedule --------------------------------------------------------------------
def test_schedule_relative_to_a_date_field(owner, run_commits):
    rule = make_rule(
        trigger="schedule",
        schedule_field="next_follow_up_at",
        schedule_offset_days=-3,
        conditions=[("level", "eq", "A")],
        actions=[("notify", {"owner": True, "message": "Call {customer.name} soon"})],
    )
    today = timezone.localdate()
    in3 = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=3), dt.time(15)))
    hit = CustomerFactory(owner=owner, level="A", next_follow_up_at=in3)
    CustomerFactory(owner=owner, level="B", next_follow_up_at=in3)  # condition fails
    CustomerFactory(owner=owner, level="A", next_follow_up_at=in3 + dt.timedelta(days=1))
    from apps.studio.tasks import automation_daily

    assert run_commits(automation_daily.apply).get() == 1
    assert run_commits(automation_daily.apply).get() == 0  # once per record and day
    run = RuleRun.objects.get()
    assert (run.rule_id, run.object_id, run.status) == (rule.pk, hit.pk, "succeeded")
    assert Notification.objects.get().message == f"Call {hit.name} soon"


def test_schedule_on_a_custom_date_field(owner, run_commits):
    ct = ContentType.objects.get_for_model(Customer)
    FieldDefinition.objects.create(content_type=ct, key="renewal", label="Renewal", type="date")
    make_rule(
        trigger="schedule",
        schedule_field="custom.renewal",
        schedule_offset_days=7,
        actions=[NOTIFY_OWNER],
    )
    week_ago = timezone.localdate() - dt.timedelta(days=7)
    CustomerFactory(owner=owner, custom={"renewal": week_ago.isoformat()})
    CustomerFactory(owner=owner, custom={"renewal": timezone.localdate().isoformat()})
    assert engine.run_daily() and RuleRun.objects.count() == 1


def test_sweeper_requeues_lost_events(owner, run_commits, django_capture_on_commit_callbacks):
    make_rule(actions=[NOTIFY_OWNER])
    with django_capture_on_commit_callbacks(execute=False):  # the broker was down at commit
        customer_create(by=None, data={"name": "壬"}, owner=owner)
    AutomationEvent.objects.update(created_at=timezone.now() - dt.timedelta(minutes=5))
    from apps.studio.tasks import automation_sweep

    assert run_commits(automation_sweep.apply).get() == {"events": 1, "runs": 0}
    assert RuleRun.objects.get().status == "succeeded"


def test_amounts_in_snapshots_are_plain(owner):
    customer = CustomerFactory(owner=owner, satisfaction_avg=Decimal("4.50"))
    snap = registry.spec_for(Customer).snapshot(customer)
    assert snap["satisfaction_avg"] == "4.50" and snap["owner"] == owner.pk
    assert "name_normalized" not in snap and "pool_reason" not in snap
