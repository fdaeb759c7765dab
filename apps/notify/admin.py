from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from . import outbound, webhooks
from .models import (
    ChannelSetting,
    Delivery,
    Notification,
    OutboundMessage,
    QuietHours,
    Robot,
    SmsGateway,
    WebhookDelivery,
    WebhookSubscription,
    WorkApp,
)


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    readonly_fields = ["channel", "status", "attempts", "error", "created_at", "sent_at"]
    can_delete = False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["message", "recipient", "verb", "created_at", "read_at"]
    list_filter = ["verb", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["message", "recipient__username", "recipient__display_name"]
    list_select_related = ["recipient"]
    raw_id_fields = ["recipient", "actor"]
    readonly_fields = ["created_at"]
    inlines = [DeliveryInline]
    date_hierarchy = "created_at"


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["notification", "channel", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["channel", "status"]
    list_select_related = ["notification"]
    readonly_fields = [
        "notification",
        "channel",
        "status",
        "attempts",
        "error",
        "created_at",
        "sent_at",
    ]


@admin.register(ChannelSetting)
class ChannelSettingAdmin(admin.ModelAdmin):
    list_display = ["user", "channel", "event", "enabled"]
    list_filter = ["channel", "enabled"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


@admin.register(QuietHours)
class QuietHoursAdmin(admin.ModelAdmin):
    list_display = ["user", "start", "end", "enabled"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


def _report(request, status: str, error, what) -> None:
    if status == "sent":
        messages.success(request, _("Test message sent to %(what)s.") % {"what": what})
    else:
        messages.error(
            request, _("Sending to %(what)s failed: %(error)s") % {"what": what, "error": error}
        )


@admin.register(Robot)
class RobotAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "format", "active", "created_at"]
    list_filter = ["provider", "active"]
    actions = ["send_test"]

    @admin.action(description=_("Send a test message"))
    def send_test(self, request, queryset):
        for robot in queryset:
            msg = outbound.message_queue(
                channel="robot",
                robot=robot,
                title=str(_("Weft test message")),
                body=str(_("If you can read this, the robot works.")),
                mentions=[request.user.mobile] if robot.mention_recipients else [],
            )
            status, error = outbound.attempt(msg.pk)
            _report(request, status, error, robot)


@admin.register(WorkApp)
class WorkAppAdmin(admin.ModelAdmin):
    list_display = ["provider", "app_key", "agent_id", "active"]
    actions = ["send_test"]

    @admin.action(description=_("Send me a test work notification"))
    def send_test(self, request, queryset):
        for app in queryset:
            user_id = getattr(request.user, f"{app.provider}_userid", "")
            if not user_id:
                messages.error(request, _("Your user has no %(p)s user id.") % {"p": app})
                continue
            msg = outbound.message_queue(
                channel=app.provider,
                to=user_id,
                title=str(_("Weft test message")),
                body=str(_("If you can read this, work notifications work.")),
            )
            status, error = outbound.attempt(msg.pk)
            _report(request, status, error, app)


@admin.register(SmsGateway)
class SmsGatewayAdmin(admin.ModelAdmin):
    list_display = ["name", "backend", "method", "active"]
    actions = ["send_test"]

    @admin.action(description=_("Send me a test SMS"))
    def send_test(self, request, queryset):
        if not request.user.mobile:
            messages.error(request, _("Your user has no mobile number."))
            return
        msg = outbound.message_queue(
            channel="sms", to=request.user.mobile, body=str(_("Weft test message"))
        )
        status, error = outbound.attempt(msg.pk)
        _report(request, status, error, request.user.mobile)


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "channel", "robot", "to", "status", "attempts", "response_code"]
    list_filter = ["channel", "status"]
    search_fields = ["to", "body", "error"]
    list_select_related = ["robot"]
    date_hierarchy = "created_at"
    actions = ["resend"]
    readonly_fields = [f.name for f in OutboundMessage._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Send again"))
    def resend(self, request, queryset):
        from .tasks import send_outbound

        ids = list(
            queryset.exclude(status=OutboundMessage.Status.SENT).values_list("pk", flat=True)
        )
        with transaction.atomic():
            OutboundMessage.objects.filter(pk__in=ids).update(status=OutboundMessage.Status.PENDING)
            for pk in ids:
                transaction.on_commit(lambda pk=pk: send_outbound.delay(pk))
        messages.success(request, _("%(n)d messages queued again.") % {"n": len(ids)})


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "active", "consecutive_failures", "disabled_at"]
    list_filter = ["active"]
    search_fields = ["name", "url"]
    readonly_fields = ["consecutive_failures", "disabled_at", "disabled_reason", "created_by"]
    actions = ["ping", "enable"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Send a test event (ping)"))
    def ping(self, request, queryset):
        import uuid

        for sub in queryset:
            d = webhooks.delivery_queue(
                url=sub.url,
                secret=sub.secret,
                event="ping",
                data={"subscription": sub.pk},
                subscription=sub,
                key=f"ping:{uuid.uuid4().hex}",
            )
            status, error = webhooks.attempt(d.pk, final=True)
            _report(request, "sent" if status == "sent" else "failed", error, sub)

    @admin.action(description=_("Enable again (reset the failure count)"))
    def enable(self, request, queryset):
        for sub in queryset:
            webhooks.subscription_enable(subscription=sub)
        messages.success(request, _("Enabled."))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event", "subscription", "status", "response_code", "attempts"]
    list_filter = ["status", "event", "subscription"]
    search_fields = ["event", "url", "idempotency_key"]
    list_select_related = ["subscription"]
    date_hierarchy = "created_at"
    actions = ["resend"]
    exclude = ["secret"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields if f.name not in ("secret",)]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Send again"))
    def resend(self, request, queryset):
        with transaction.atomic():
            for d in queryset:
                webhooks.delivery_resend(delivery=d)
        messages.success(request, _("Queued again."))
