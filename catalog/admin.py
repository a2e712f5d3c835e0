from django.contrib import admin

from catalog.models import Category, Course, Item, Post, Product, Tag


class ProductInline(admin.StackedInline):
    model = Product
    can_delete = False


class CourseInline(admin.StackedInline):
    model = Course
    can_delete = False


class PostInline(admin.StackedInline):
    model = Post
    can_delete = False


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "kind", "is_active", "created_at"]
    list_filter = ["kind", "is_active", "categories"]
    search_fields = ["title", "external_id"]
    filter_horizontal = ["categories", "tags"]
    inlines = [ProductInline, CourseInline, PostInline]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
