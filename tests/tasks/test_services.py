from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.notify.models import Notification
from apps.org.errors import ConflictError, ServiceError
from apps.tasks import services
from apps.tasks.models import Task, TaskEvent, TaskParticipant
from tests.customers.factories import CustomerFactory

from .conftest import fresh, make_task

S = Task.Status


def status(task, value, by):
    return services.task_set_status(task=task, status=value, by=fresh(by))


def progress(task) -> int:
    return Task.objects.get(pk=task.pk).progress


# --- create, assign ----------------------------------------------------------------------------


def test_create_defaults_to_me_and_records_history(org):
    task = make_task(org.alice, title="  Call back  ")
    assert task.title == "Call back"
    assert task.assignee == org.alice and task.creator == org.alice
    assert task.department == org.east
    assert task.status == S.TODO and task.depth == 0 and task.root_id is None
    assert list(task.events.values_list("kind", flat=True)) == [TaskEvent.Kind.CREATED]
    assert not Notification.objects.exists()  # nobody else to tell


def test_create_for_a_colleague_notifies_them(org):
    task = make_task(org.alice, title="Prepare quote", assignee=org.bob, participants=[org.carol])
    assert task.assignee == org.bob
    verbs = set(Notification.objects.values_list("recipient__username", "verb"))
    assert verbs == {("bob", "tasks.assigned"), ("carol", "tasks.participant")}


def test_create_needs_the_add_permission(org):
    with pytest.raises(PermissionDenied):
        make_task(org.nobody, title="x")
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    "data, field",
    [
        ({"title": "  "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "x", "priority": "whenever"}, "priority"),
        ({"title": "x", "repeat": "weekly"}, "due_at"),
    ],
)
def test_create_refuses_bad_input(org, data, field):
    with pytest.raises(ServiceError) as exc:
        services.task_create(by=fresh(org.alice), data=data)
    assert field in exc.value.errors
    assert not Task.objects.exists()


def test_customer_must_be_visible(org):
    customer = CustomerFactory(owner=org.bob)
    with pytest.raises(ServiceError) as exc:
        make_task(org.alice, title="x", customer=customer)
    assert "customer" in exc.value.errors


def test_link_to_a_record_sets_the_customer(org, django_user_model):
    from apps.customers.models import Customer, Ticket
    from tests.org.factories import make_role

    make_role("cust", Customer, actions=("view",), scope="all", members=[org.alice])
    make_role("tick", Ticket, actions=("view",), scope="all", members=[org.alice])
    customer = CustomerFactory(owner=org.bob)
    ticket = Ticket.objects.create(customer=customer, title="Broken")
    task = make_task(org.alice, title="Fix", link_type="customers.ticket", link_id=ticket.pk)
    assert task.link == ticket
    assert task.customer == customer
    with pytest.raises(ServiceError) as exc:
        make_task(org.alice, title="Fix", link_type="customers.nothing", link_id=1)
    assert "link_type" in exc.value.errors
    with pytest.raises(ServiceError) as exc:
        make_task(org.bob, title="Fix", link_type="customers.ticket", link_id=ticket.pk)
    assert "link_id" in exc.value.errors  # bob cannot see tickets


def test_reassign_keeps_previous_assignee_as_participant(org):
    task = make_task(org.alice, title="Visit")
    task = services.task_assign(task=task, assignee=org.bob, by=fresh(org.alice))
    assert task.assignee == org.bob
    assert TaskParticipant.objects.filter(task=task, user=org.alice).exists()
    assert Notification.objects.filter(recipient=org.bob, verb="tasks.assigned").exists()


def test_only_assignee_creator_or_manager_may_change(org):
    task = make_task(org.alice, title="Mine")
    with pytest.raises(PermissionDenied):
        services.task_update(task=task, by=fresh(org.bob), data={"title": "Hijacked"})
    with pytest.raises(PermissionDenied):
        services.task_update(task=task, by=fresh(org.carol), data={"title": "Hijacked"})
    services.task_update(task=task, by=fresh(org.manager), data={"title": "Checked"})
    assert Task.objects.get(pk=task.pk).title == "Checked"


# --- subtasks and roll-up ----------------------------------------------------------------------


def test_subtasks_to_any_depth_roll_up(org):
    top = make_task(org.alice, title="Launch")
    a = make_task(org.alice, title="A", parent=top)
    b = make_task(org.alice, title="B", parent=top)
    b1 = make_task(org.alice, title="B1", parent=b)
    b2 = make_task(org.alice, title="B2", parent=b)
    b2x = make_task(org.alice, title="B2x", parent=b2)
    assert (b2x.depth, b2x.root_id, b1.root_id) == (3, top.pk, top.pk)
    assert progress(top) == 0

    status(a, S.DONE, org.alice)
    assert progress(top) == 50  # A 100, B 0

    status(b2x, S.DONE, org.alice)  # B2 = 100, B = (0 + 100) / 2 = 50
    assert (progress(b2), progress(b), progress(top)) == (100, 50, 75)

    status(b1, S.CANCELLED, org.alice)  # cancelled subtasks do not count: B = 100
    assert (progress(b), progress(top)) == (100, 100)

    status(b1, S.TODO, org.alice)  # reopened: counts again
    assert (progress(b), progress(top)) == (50, 75)


def test_a_task_with_open_subtasks_cannot_be_done(org):
    top = make_task(org.alice, title="Launch")
    make_task(org.alice, title="A", parent=top)
    with pytest.raises(ServiceError) as exc:
        status(top, S.DONE, org.alice)
    assert exc.value.code == "open_subtasks"
    assert Task.objects.get(pk=top.pk).status == S.TODO


def test_cancel_cascades_to_open_subtasks(org):
    top = make_task(org.alice, title="Launch")
    a = make_task(org.alice, title="A", parent=top)
    b = make_task(org.alice, title="B", parent=a)
    done = make_task(org.alice, title="C", parent=top)
    status(done, S.DONE, org.alice)
    status(top, S.CANCELLED, org.alice)
    states = dict(Task.objects.values_list("title", "status"))
    assert states == {"Launch": S.CANCELLED, "A": S.CANCELLED, "B": S.CANCELLED, "C": S.DONE}
    assert TaskEvent.objects.filter(task=b, kind=TaskEvent.Kind.STATUS).exists()


def test_status_flow_refuses_jumps(org):
    task = make_task(org.alice, title="x")
    status(task, S.DONE, org.alice)
    with pytest.raises(ConflictError):
        status(task, S.DOING, org.alice)
    task = status(task, S.TODO, org.alice)
    assert task.completed_at is None and task.progress == 0


def test_move_subtree_and_refuse_cycles(org):
    one = make_task(org.alice, title="One")
    two = make_task(org.alice, title="Two")
    child = make_task(org.alice, title="Child", parent=one)
    grandchild = make_task(org.alice, title="Grandchild", parent=child)
    status(grandchild, S.DONE, org.alice)
    assert progress(one) == 100
    services.task_move(task=child, parent=two, by=fresh(org.alice))
    child.refresh_from_db()
    grandchild.refresh_from_db()
    assert (child.root_id, child.depth, grandchild.root_id, grandchild.depth) == (
        two.pk,
        1,
        two.pk,
        2,
    )
    assert (progress(one), progress(two)) == (0, 100)
    with pytest.raises(ServiceError):
        services.task_move(task=two, parent=grandchild, by=fresh(org.alice))
    services.task_move(task=child, parent=None, by=fresh(org.alice))
    grandchild.refresh_from_db()
    assert (grandchild.root_id, grandchild.depth) == (child.pk, 1)


def test_delete_removes_the_subtree_and_rolls_up(org):
    top = make_task(org.alice, title="Top")
    keep = make_task(org.alice, title="Keep", parent=top)
    drop = make_task(org.alice, title="Drop", parent=top)
    make_task(org.alice, title="Below drop", parent=drop)
    status(keep, S.DONE, org.alice)
    assert progress(top) == 50
    services.task_delete(task=drop, by=fresh(org.alice))
    assert set(Task.objects.values_list("title", flat=True)) == {"Top", "Keep"}
    assert progress(top) == 100


def test_only_creator_or_delete_role_may_delete(org):
    task = make_task(org.alice, title="x", assignee=org.bob)
    with pytest.raises(PermissionDenied):
        services.task_delete(task=task, by=fresh(org.bob))
    services.task_delete(task=task, by=fresh(org.manager))
    assert not Task.objects.exists()


# --- recurrence --------------------------------------------------------------------------------


def test_done_repeating_task_creates_the_next_once(org):
    due = timezone.now() + dt.timedelta(hours=3)
    task = make_task(
        org.alice,
        title="Weekly report",
        due_at=due,
        remind_at=due - dt.timedelta(hours=1),
        repeat="weekly",
        participants=[org.bob],
    )
    status(task, S.DONE, org.alice)
    nxt = Task.objects.get(recurrence_of=task)
    assert nxt.due_at == timezone.localtime(due) + dt.timedelta(weeks=1)
    assert nxt.remind_at == nxt.due_at - dt.timedelta(hours=1)
    assert nxt.status == S.TODO and nxt.repeat == "weekly"
    assert list(nxt.participants.all()) == [org.bob]
    status(task, S.TODO, org.alice)
    status(task, S.DONE, org.alice)
    assert Task.objects.filter(recurrence_of=task).count() == 1


def test_next_occurrence_copies_the_subtasks_open_again(org):
    due = timezone.now() + dt.timedelta(hours=3)
    top = make_task(org.alice, title="Month end", due_at=due, repeat="monthly")
    check = make_task(
        org.alice,
        title="Check invoices",
        parent=top,
        assignee=org.bob,
        due_at=due,
        participants=[org.alice],
    )
    call = make_task(org.alice, title="Call the bank", parent=check, assignee=org.bob)
    dropped = make_task(org.alice, title="One-off", parent=top)
    status(dropped, S.CANCELLED, org.alice)
    status(call, S.DONE, org.bob)
    status(check, S.DONE, org.bob)
    status(top, S.DONE, org.alice)

    nxt = Task.objects.get(recurrence_of=top)
    copies = {t.title: t for t in Task.objects.filter(root_id=nxt.pk)}
    assert set(copies) == {"Check invoices", "Call the bank"}
    new_check = copies["Check invoices"]
    assert new_check.parent_id == nxt.pk and new_check.status == S.TODO
    assert new_check.assignee == org.bob and list(new_check.participants.all()) == [org.alice]
    assert new_check.due_at == nxt.due_at and new_check.repeat == ""
    assert copies["Call the bank"].parent_id == new_check.pk and copies["Call the bank"].depth == 2
    # the old occurrence keeps its own subtasks
    assert Task.objects.filter(root_id=top.pk).count() == 3


def test_monthly_repeat_stops_at_repeat_until(org):
    due = timezone.now() + dt.timedelta(days=1)
    task = make_task(
        org.alice,
        title="Monthly",
        due_at=due,
        repeat="monthly",
        repeat_until=timezone.localdate(due) + dt.timedelta(days=10),
    )
    status(task, S.DONE, org.alice)
    assert not Task.objects.filter(recurrence_of=task).exists()


def test_subtasks_do_not_repeat(org):
    top = make_task(org.alice, title="Top")
    with pytest.raises(ServiceError) as exc:
        make_task(org.alice, title="Sub", parent=top, repeat="daily", due_at=timezone.now())
    assert "repeat" in exc.value.errors


# --- comments ----------------------------------------------------------------------------------


def test_comment_mentions_notify_and_add_participants(org):
    task = make_task(org.alice, title="Plan", assignee=org.bob)
    Notification.objects.all().delete()
    comment = services.comment_add(
        task=task, by=fresh(org.alice), body="@carol please check，@李娜 FYI"
    )
    assert sorted(comment.mentions) == sorted([org.carol.pk, org.manager.pk])
    assert TaskParticipant.objects.filter(task=task, user=org.carol).exists()
    got = set(Notification.objects.values_list("recipient__username", "verb"))
    assert got == {
        ("carol", "tasks.mentioned"),
        ("manager", "tasks.mentioned"),
        ("bob", "tasks.commented"),
    }
    # carol, a participant now, may see and comment
    services.comment_add(task=task, by=fresh(org.carol), body="Done.")


def test_comment_needs_to_see_the_task(org):
    task = make_task(org.alice, title="Private")
    with pytest.raises(PermissionDenied):
        services.comment_add(task=task, by=fresh(org.carol), body="hi")
    assert not task.comments.exists()


def test_comment_attachments_are_checked(org):
    task = make_task(org.alice, title="Docs")
    good = SimpleUploadedFile("会议纪要.txt", "纪要内容".encode(), content_type="text/plain")
    comment = services.comment_add(task=task, by=fresh(org.alice), body="", files=[good])
    att = comment.attachments.get()
    assert att.name == "会议纪要.txt" and att.size == len("纪要内容".encode())
    assert "会议纪要" not in att.file.name  # the stored path never holds the user's name
    evil = SimpleUploadedFile("x.pdf", b"<html><script>alert(1)</script>", content_type="x")
    with pytest.raises(ServiceError) as exc:
        services.comment_add(task=task, by=fresh(org.alice), body="look", files=[evil])
    assert "files" in exc.value.errors
    assert task.comments.count() == 1
    with pytest.raises(ServiceError):
        services.comment_add(task=task, by=fresh(org.alice), body="   ")
