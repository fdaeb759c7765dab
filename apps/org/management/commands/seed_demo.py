"""Create (or top up) the demo company of DESIGN §6. Idempotent: run it as often as you like."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.module_loading import autodiscover_modules

from apps.org.demo import DemoContext, seeders
from apps.org.models import User
from apps.org.scopes import clear_caches


class Command(BaseCommand):
    help = "Seed the demo company (users, departments, roles and every app's demo data)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already has users.",
        )

    def handle(self, *args, if_empty=False, **options):
        if if_empty and User.objects.exists():
            self.stdout.write("Database already has users; demo data not seeded.")
            return
        autodiscover_modules("demo")
        ctx = DemoContext(log=lambda msg: self.stdout.write(f"  {msg}"))
        with transaction.atomic():
            for seed in seeders():
                # Each seeder may grant its roles new permissions; the demo users are shared
                # objects whose permission and scope caches would otherwise be stale.
                for user in ctx.users.values():
                    clear_caches(user)
                seed(ctx)
                # A seeder may grant roles permissions; users checked before must see them.
                for user in ctx.users.values():
                    clear_caches(user)
        self.stdout.write(
            self.style.SUCCESS(
                "Demo company ready. Sign in as admin / demo1234 (change the passwords!)."
            )
        )
