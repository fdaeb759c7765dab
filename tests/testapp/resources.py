from apps.studio.resources import WeftResource

from .models import Record


class RecordResource(WeftResource):
    class Meta:
        model = Record
        fields = ("id", "title", "amount", "secret", "owner")
        import_id_fields = ("id",)
