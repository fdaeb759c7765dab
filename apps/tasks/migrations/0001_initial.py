# The tasks app starts empty: tasks and calendar models arrive in their own migrations.
from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []
    operations: list = []
