"""A colleague creates a task and adds a subtask on a phone-size screen (and a desktop), then
finishes the subtask and sees the progress roll up; the board and the inbox render."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from apps.org.models import Department, Scope, User
from apps.org.services import role_scope_set
from apps.tasks.models import Task

from .conftest import no_horizontal_overflow

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "s3cret-pass!"


@pytest.fixture
def colleague():
    dept = Department.objects.create(name="市场部")
    user = User.objects.create_user(
        username="sunli", password=PASSWORD, display_name="孙丽", department=dept
    )
    role = Group.objects.create(name="员工")
    role.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="tasks", codename__in=["view_task", "add_task", "change_task"]
        )
    )
    role_scope_set(role=role, model=Task, scope=Scope.OWN)
    user.groups.add(role)
    return user


def test_create_a_task_with_a_subtask(page, viewport, live_server, colleague):
    url = live_server.url
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", "sunli")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{url}/")

    page.goto(f"{url}/tasks/")
    assert no_horizontal_overflow(page)
    page.locator("[data-testid=new-task]").click()
    page.wait_for_url(f"{url}/tasks/new/")
    form = page.locator("[data-testid=task-form]")
    form.locator("input[name=title]").fill("新产品发布会筹备")
    form.locator("select[name=priority]").select_option("high")
    form.locator("input[name=due_at]").fill("2030-06-01T10:00")
    assert no_horizontal_overflow(page)
    form.locator("[data-testid=save-task]").click()
    task = None
    page.wait_for_url(f"{url}/tasks/*/")
    task = Task.objects.get(title="新产品发布会筹备")
    assert task.priority == "high" and task.assignee == colleague

    sub = page.locator("[data-testid=subtask-form]")
    sub.locator("input[name=title]").fill("确定场地与日期")
    sub.locator("[data-testid=add-subtask]").click()
    page.locator("[data-testid=subtask-tree]").wait_for()
    assert "确定场地与日期" in page.locator("[data-testid=subtask-tree]").inner_text()
    assert no_horizontal_overflow(page)
    child = Task.objects.get(title="确定场地与日期")
    assert child.parent_id == task.pk

    # A second subtask, then finish the first: the parent shows 50 %.
    sub = page.locator("[data-testid=subtask-form]")
    sub.locator("input[name=title]").fill("邀请重点客户")
    sub.locator("[data-testid=add-subtask]").click()
    page.locator(f"[data-task='{child.pk}'] button[value=done]").click()
    page.locator("[data-progress='50']").wait_for()
    assert Task.objects.get(pk=task.pk).progress == 50

    page.goto(f"{url}/tasks/board/")
    assert page.locator(".weft-board-col[data-status=todo]").is_visible()
    page.goto(f"{url}/todos/")
    assert no_horizontal_overflow(page)
