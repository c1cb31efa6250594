from django.contrib import admin

from capabilities.search.models import Document


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "tags", "created_at")
    search_fields = ("title",)
    readonly_fields = ("created_at", "updated_at")
    exclude = ("search_vector",)
