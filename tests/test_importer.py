"""MovieLens import: all three formats, idempotence, and bad input."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.consent import has_consent
from accounts.models import ConsentEvent, ConsentSource, Profile, Purpose, User
from catalog.models import Category, Item, Product
from recommendations.models import Interaction
from tests.conftest import CSV_DIR, SLICE_DIR

SLICE_USERS = 40
SLICE_ITEMS = 300
SLICE_RATINGS = 2653


def table_counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "items": Item.objects.count(),
        "products": Product.objects.count(),
        "interactions": Interaction.objects.count(),
        "consents": ConsentEvent.objects.count(),
    }


@pytest.mark.django_db
def test_grouplens_folder_imports_users_items_ratings(capsys):
    call_command("import_movielens", str(SLICE_DIR), "--no-progress")

    assert User.objects.count() == SLICE_USERS
    assert Product.objects.count() == SLICE_ITEMS
    assert Interaction.objects.count() == SLICE_RATINGS
    output = capsys.readouterr().out
    assert f"interactions: {SLICE_RATINGS} new" in output
    assert f"for {SLICE_USERS} users" in output


@pytest.mark.django_db
def test_grouplens_import_keeps_demographics_and_genres():
    call_command("import_movielens", str(SLICE_DIR), "--no-progress")

    profile = Profile.objects.get(user__external_id="movielens:1")
    assert profile.age == 24
    assert profile.gender == "M"
    assert profile.occupation == "technician"
    assert profile.postcode == "85711"
    toy_story = Item.objects.get(external_id="movielens:1")
    assert toy_story.title == "Toy Story (1995)"
    assert set(toy_story.categories.values_list("name", flat=True)) == {
        "Animation",
        "Children's",
        "Comedy",
    }
    assert toy_story.product.released_on.isoformat() == "1995-01-01"


@pytest.mark.django_db
def test_ratings_become_interactions_with_timestamps():
    call_command("import_movielens", str(SLICE_DIR), "--no-progress")

    first_line = (SLICE_DIR / "u.data").read_text().splitlines()[0]
    user_id, movie_id, rating, timestamp = first_line.split("\t")
    event = Interaction.objects.get(
        user__external_id=f"movielens:{user_id}",
        item__external_id=f"movielens:{movie_id}",
    )
    assert event.kind == "rating"
    assert event.value == float(rating)
    assert int(event.occurred_at.timestamp()) == int(timestamp)


@pytest.mark.django_db
def test_import_grants_personalization_with_source_import():
    call_command("import_movielens", str(SLICE_DIR), "--no-progress")

    user = User.objects.get(external_id="movielens:3")
    event = ConsentEvent.objects.get(user=user)
    assert event.purpose == Purpose.PERSONALIZATION
    assert event.source == ConsentSource.IMPORT
    assert has_consent(user, Purpose.PERSONALIZATION)
    assert not has_consent(user, Purpose.EMAIL)


@pytest.mark.django_db
def test_second_import_changes_nothing(capsys):
    call_command("import_movielens", str(SLICE_DIR), "--no-progress")
    before = table_counts()

    call_command("import_movielens", str(SLICE_DIR), "--no-progress")

    assert table_counts() == before
    output = capsys.readouterr().out
    assert f"interactions: 0 new, {SLICE_RATINGS} already stored" in output


@pytest.mark.django_db
def test_reimport_keeps_a_withdrawn_consent():
    call_command("import_movielens", str(SLICE_DIR), "--no-progress")
    user = User.objects.get(external_id="movielens:5")
    from accounts.consent import record_consent

    record_consent(user, Purpose.PERSONALIZATION, False, ConsentSource.PREFERENCES)

    call_command("import_movielens", str(SLICE_DIR), "--no-progress")

    assert not has_consent(user, Purpose.PERSONALIZATION)


@pytest.mark.django_db
def test_csv_folder_imports_same_data():
    call_command("import_movielens", str(CSV_DIR), "--no-progress")

    assert User.objects.count() == SLICE_USERS
    assert Item.objects.count() == SLICE_ITEMS
    assert Interaction.objects.count() == SLICE_RATINGS
    assert Profile.objects.get(user__external_id="movielens:2").gender == "F"


@pytest.mark.django_db
def test_csv_folder_without_users_file(tmp_path):
    for name in ("ratings.csv", "movies.csv"):
        (tmp_path / name).write_text((CSV_DIR / name).read_text())

    call_command("import_movielens", str(tmp_path), "--no-progress")

    assert User.objects.count() == SLICE_USERS
    assert Profile.objects.filter(age__isnull=True).count() == SLICE_USERS


@pytest.mark.django_db
@pytest.mark.slow
def test_bundled_wheel_imports_movielens_100k():
    call_command("import_movielens", "--no-progress")

    assert User.objects.count() == 943
    assert Item.objects.count() == 1682
    assert Interaction.objects.count() == 100_000
    assert Category.objects.count() == 19


def replace_line(path: Path, number: int, text: str) -> None:
    """Replace the 1-based line number of a file with text."""
    lines = path.read_text(encoding="latin-1").splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")


def import_fails(path: Path, *fragments: str) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("import_movielens", str(path), "--no-progress")
    for fragment in fragments:
        assert fragment in str(caught.value)


@pytest.mark.django_db
def test_missing_folder_is_reported(tmp_path):
    import_fails(tmp_path / "nowhere", "nowhere does not exist")


@pytest.mark.django_db
def test_missing_file_is_reported(slice_copy):
    (slice_copy / "u.user").unlink()

    import_fails(slice_copy, "u.user not found")


@pytest.mark.django_db
def test_missing_column_is_reported(tmp_path):
    (tmp_path / "movies.csv").write_text((CSV_DIR / "movies.csv").read_text())
    ratings = (CSV_DIR / "ratings.csv").read_text().splitlines()
    stripped = [",".join(line.split(",")[:2] + line.split(",")[3:]) for line in ratings]
    (tmp_path / "ratings.csv").write_text("\n".join(stripped) + "\n")

    import_fails(tmp_path, "ratings.csv has no column 'rating'")


@pytest.mark.django_db
def test_non_numeric_rating_names_file_line_value(slice_copy):
    replace_line(slice_copy / "u.data", 17, "1\t1\tfive\t874965758")

    import_fails(slice_copy, "u.data line 17", "rating 'five'", "not a number")


@pytest.mark.django_db
def test_unknown_user_in_ratings_names_file_line_value(slice_copy):
    replace_line(slice_copy / "u.data", 5, "9999\t1\t4\t874965758")

    import_fails(slice_copy, "u.data line 5", "user_id '9999'", "u.user")


@pytest.mark.django_db
def test_unknown_item_in_ratings_is_reported(slice_copy):
    replace_line(slice_copy / "u.data", 3, "1\t99999\t4\t874965758")

    import_fails(slice_copy, "u.data line 3", "item_id '99999'", "u.item")


@pytest.mark.django_db
def test_bad_input_leaves_database_as_it_was(slice_copy):
    call_command("import_movielens", str(SLICE_DIR), "--no-progress")
    before = table_counts()
    replace_line(slice_copy / "u.data", 40, "2\t1\tNaN\t874965758")
    extra_user = "41|30|F|writer|12345"
    (slice_copy / "u.user").write_text(
        (slice_copy / "u.user").read_text() + extra_user + "\n"
    )

    import_fails(slice_copy, "u.data line 40")

    assert table_counts() == before


@pytest.mark.django_db(transaction=True)
def test_failure_while_writing_rolls_back(slice_copy, monkeypatch):
    """A database error midway leaves no users, items or interactions behind."""
    from recommendations import importing

    def fail(*args, **kwargs):
        raise importing.ImportDataError("simulated failure after users and items")

    monkeypatch.setattr(importing, "import_interactions", fail)

    import_fails(slice_copy, "simulated failure")

    assert table_counts() == dict.fromkeys(table_counts(), 0)
