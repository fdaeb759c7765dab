"""`record_committed`: sent after the commit of every `record_changed()` call, for loosely
coupled listeners (notify's outbound webhooks). Receivers get `sender` (the model class),
`instance`, `spec` (its ModelSpec), `created`, `changes` and `by`."""

from django.dispatch import Signal

record_committed = Signal()
