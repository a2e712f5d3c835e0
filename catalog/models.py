"""Products, courses and posts behind one item id.

Each subtype row shares its primary key with its Item row through an explicit
one-to-one key rather than multi-table inheritance, because bulk_create does
not support multi-table inheritance and the importers insert thousands of rows.
"""

from django.db import models


class Category(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ItemKind(models.TextChoices):
    PRODUCT = "product", "product"
    COURSE = "course", "course"
    POST = "post", "post"


class Item(models.Model):
    """Anything Attune can recommend; subtype details live in Product and kin."""

    kind = models.CharField(max_length=16, choices=ItemKind.choices, db_index=True)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    url = models.URLField(max_length=500, blank=True, default="")
    image_url = models.URLField(max_length=500, blank=True, default="")
    categories = models.ManyToManyField(Category, related_name="items", blank=True)
    tags = models.ManyToManyField(Tag, related_name="items", blank=True)
    is_active = models.BooleanField(default=True, db_index=True)
    # Identifier in the source system, such as "movielens:242".
    external_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk}: {self.title}"


class Product(models.Model):
    item = models.OneToOneField(
        Item, on_delete=models.CASCADE, primary_key=True, related_name="product"
    )
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    sku = models.CharField(max_length=64, blank=True, default="")
    in_stock = models.BooleanField(default=True)
    released_on = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"product {self.item_id}"


class CourseLevel(models.TextChoices):
    BEGINNER = "beginner", "beginner"
    INTERMEDIATE = "intermediate", "intermediate"
    ADVANCED = "advanced", "advanced"


class Course(models.Model):
    item = models.OneToOneField(
        Item, on_delete=models.CASCADE, primary_key=True, related_name="course"
    )
    level = models.CharField(
        max_length=16, choices=CourseLevel.choices, default=CourseLevel.BEGINNER
    )
    duration_hours = models.PositiveIntegerField(null=True, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)

    def __str__(self) -> str:
        return f"course {self.item_id}"


class Post(models.Model):
    item = models.OneToOneField(
        Item, on_delete=models.CASCADE, primary_key=True, related_name="post"
    )
    author = models.CharField(max_length=100, blank=True, default="")
    published_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"post {self.item_id}"
