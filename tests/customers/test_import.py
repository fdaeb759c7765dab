"""Excel import pages of customers and contacts (apps.studio.imports): upload checks, preview with
per-row errors (bad value, duplicate of an existing customer, duplicate within the file), commit
all-or-nothing, progress states of a large file, and who may import."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.customers.models import Contact, Customer
from apps.studio import imports
from apps.studio.models import ImportJob
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

HEADERS = ["name", "level", "province", "phone", "email"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


def xlsx(rows, headers=HEADERS) -> SimpleUploadedFile:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return SimpleUploadedFile("customers.xlsx", buf.getvalue())


def csv_file(text: str, name="customers.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"))


def upload(client, file, kind="customers"):
    return client.post("/customers/import/", {"kind": kind, "file": file})


def test_preview_lists_per_row_errors_and_writes_nothing(client, org):
    CustomerFactory(name="上海老客户有限公司", owner=org.rep_north)
    client.force_login(org.rep)
    res = upload(
        client,
        xlsx(
            [
                ["杭州一号科技", "B", "浙江", "0571-1", "a@example.com"],
                ["上海老客户", "C", "上海", "", ""],  # the same as an existing customer
                ["杭州一号科技有限公司", "C", "浙江", "", ""],  # the same as row 1
                ["宁波二号", "Z", "浙江", "", "not-an-email"],  # bad level, bad email
            ]
        ),
    )
    job = ImportJob.objects.get()
    assert res.status_code == 302 and res["Location"] == f"/customers/import/{job.pk}/"
    assert job.status == "previewed" and job.total_rows == 4 and job.valid_rows == 1
    by_row = {e["row"]: e["errors"] for e in job.errors}
    assert set(by_row) == {2, 3, 4}
    assert "already exists" in by_row[2][0]["message"]
    assert "row 1" in by_row[3][0]["message"]
    assert len(by_row[4]) >= 2
    assert Customer.objects.count() == 1
    page = client.get(f"/customers/import/{job.pk}/").content.decode()
    assert 'id="import-errors"' in page and 'data-row="2"' in page and "Import now" not in page
    # A file with errors cannot be committed.
    client.post(f"/customers/import/{job.pk}/commit/")
    assert Customer.objects.count() == 1


def test_commit_is_all_or_nothing(client, org):
    client.force_login(org.rep)
    upload(client, xlsx([["苏州甲公司", "A", "江苏", "", ""], ["苏州乙公司", "B", "江苏", "", ""]]))
    job = ImportJob.objects.get()
    assert job.status == "previewed" and not job.errors
    assert "Import now" in client.get(f"/customers/import/{job.pk}/").content.decode()
    # Someone creates one of the names between preview and commit: the commit writes nothing.
    CustomerFactory(name="苏州乙公司", owner=org.rep_peer)
    res = client.post(f"/customers/import/{job.pk}/commit/")
    assert res.status_code == 302
    job.refresh_from_db()
    assert job.status == "failed" and job.errors
    assert not Customer.objects.filter(name="苏州甲公司").exists()
    # A clean file goes in completely.
    upload(client, xlsx([["无锡丙公司", "A", "江苏", "", ""], ["无锡丁公司", "B", "江苏", "", ""]]))
    job = ImportJob.objects.latest("pk")
    client.post(f"/customers/import/{job.pk}/commit/")
    job.refresh_from_db()
    assert job.status == "done" and job.imported_rows == 2
    for name in ("无锡丙公司", "无锡丁公司"):
        assert Customer.objects.get(name=name).owner == org.rep


def test_csv_and_contacts(client, org):
    own = CustomerFactory(name="南京联系人客户", owner=org.rep)
    client.force_login(org.rep)
    upload(client, csv_file("name,customer,mobile\n赵六,南京联系人客户,13600000000\n"), "contacts")
    job = ImportJob.objects.get()
    assert job.status == "previewed", (job.message, job.errors)
    assert not job.errors
    client.post(f"/customers/import/{job.pk}/commit/")
    job.refresh_from_db()
    assert job.status == "done", (job.message, job.errors)
    assert Contact.objects.get(name="赵六").customer == own


def test_upload_is_checked_by_content_and_size(client, org, monkeypatch):
    client.force_login(org.rep)
    fake = SimpleUploadedFile("evil.xlsx", b"\x00\x01binary junk\x00")
    res = upload(client, fake)
    assert res.status_code == 200 and "Upload an Excel workbook" in res.content.decode()
    zip_not_xlsx = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(zip_not_xlsx, "w") as z:
        z.writestr("hello.txt", "hi")
    res = upload(client, SimpleUploadedFile("x.xlsx", zip_not_xlsx.getvalue()))
    assert "Upload an Excel workbook" in res.content.decode()
    monkeypatch.setattr(imports, "MAX_UPLOAD_BYTES", 10)
    res = upload(client, csv_file("name\nabcdefghijk\n"))
    assert "too large" in res.content.decode()
    assert not ImportJob.objects.exists()


def test_file_is_stored_privately(client, org, settings):
    client.force_login(org.rep)
    upload(client, xlsx([["常州公司", "C", "江苏", "", ""]]))
    job = ImportJob.objects.get()
    path = job.file.path
    assert str(settings.PRIVATE_MEDIA_ROOT) in path
    assert not path.startswith(str(settings.MEDIA_ROOT))
    with pytest.raises(ValueError):
        job.file.url  # noqa: B018 - no public URL


def test_large_file_runs_as_a_task_with_progress(
    client, org, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(imports, "ASYNC_BYTES", 0)  # every file is "large"
    seen = []
    real_run = imports.import_run

    def spy(*, job, phase):
        job.refresh_from_db()
        seen.append(job.status)  # the page shows this state while the worker runs
        res = client.get(f"/customers/import/{job.pk}/status/")
        seen.append(res.content.decode())
        real_run(job=job, phase=phase)

    monkeypatch.setattr(imports, "import_run", spy)
    client.force_login(org.rep)
    rows = [[f"批量公司{i}", "C", "江苏", "", ""] for i in range(30)]
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, xlsx(rows))
    job = ImportJob.objects.get()
    assert seen[0] == "previewing" and 'id="import-progress"' in seen[1]
    assert job.status == "previewed" and job.total_rows == 30
    # The polling endpoint tells htmx to reload the page once the phase ended.
    res = client.get(f"/customers/import/{job.pk}/status/", HTTP_HX_REQUEST="true")
    assert res.status_code == 204 and res["HX-Refresh"] == "true"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/customers/import/{job.pk}/commit/")
    job.refresh_from_db()
    assert seen[2] == "committing" and job.status == "done" and job.imported_rows == 30
    assert Customer.objects.filter(name__startswith="批量公司").count() == 30


def test_progress_reads_the_cache_while_running(org):
    job = ImportJob.objects.create(user=org.rep, resource="x", status="committing", total_rows=10)
    from django.core.cache import cache

    cache.set(imports._progress_key(job.pk), 7)
    assert imports.import_progress(job) == 7
    assert job.percent == 0  # the stored count is only written at the end


def test_permissions(client, org):
    client.force_login(org.nobody)
    assert client.get("/customers/import/").status_code == 403
    assert upload(client, xlsx([["X", "C", "", "", ""]])).status_code == 403
    client.force_login(org.service)  # views customers, may not add them
    assert client.get("/customers/import/").status_code == 403
    client.force_login(org.rep)
    upload(client, xlsx([["嘉兴公司", "C", "浙江", "", ""]]))
    job = ImportJob.objects.get()
    # Someone else's job is not found, and cannot be committed.
    client.force_login(org.rep_peer)
    assert client.get(f"/customers/import/{job.pk}/").status_code == 404
    assert client.post(f"/customers/import/{job.pk}/commit/").status_code == 404
    assert client.get(f"/customers/import/{job.pk}/status/").status_code == 404
    assert not Customer.objects.filter(name="嘉兴公司").exists()
    client.force_login(org.rep)
    res = client.get("/customers/import/?template=customers")
    assert res.status_code == 200 and res["Content-Type"].startswith("application/vnd")
