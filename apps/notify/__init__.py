"""In-app notifications and outbound channels. Entry point: `apps.notify.send(...)`."""


def send(recipients, event, obj=None, **context):
    """Notify `recipients` of `event` about `obj` (DESIGN §4.4); see services.notify_send."""
    from .services import notify_send

    return notify_send(recipients=recipients, event=event, obj=obj, **context)
