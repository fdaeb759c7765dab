import pytest

from tests.notify.httpserver import Recorder


@pytest.fixture
def http_server():
    with Recorder() as srv:
        yield srv
