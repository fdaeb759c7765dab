from django.contrib import admin

from .models import ChannelSetting, Delivery, Notification


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
    list_display = ["user", "channel", "enabled"]
    list_filter = ["channel", "enabled"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
