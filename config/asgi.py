import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
from config.startup import require_secret_key  # noqa: E402

require_secret_key()
application = get_asgi_application()
