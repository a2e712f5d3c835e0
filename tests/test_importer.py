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


def write_latest_layout(folder: Path) -> None:
    """Write a two-line ml-latest style data set whose movie 2 is Jumanji."""
    folder.mkdir()
    (folder / "movies.csv").write_text(
        "movieId,title,genres\n2,Jumanji (1995),Adventure|Children|Fantasy\n"
    )
    (folder / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,2,4.5,964982703\n"
    )


@pytest.mark.django_db
def test_other_data_set_with_same_ids_is_rejected(tmp_path):
    call_command("import_movielens", str(SLICE_DIR), "--no-progress")
    write_latest_layout(tmp_path / "latest")
    before = table_counts()

    import_fails(
        tmp_path / "latest",
        "movies.csv line 2",
        "'Jumanji (1995)'",
        "'GoldenEye (1995)'",
        "--namespace",
    )
    assert table_counts() == before


@pytest.mark.django_db
def test_namespace_keeps_data_sets_apart(tmp_path):
    call_command("import_movielens", str(SLICE_DIR), "--no-progress")
    write_latest_layout(tmp_path / "latest")

    call_command(
        "import_movielens",
        str(tmp_path / "latest"),
        "--namespace",
        "ml-latest",
        "--no-progress",
    )

    jumanji = Item.objects.get(external_id="ml-latest:2")
    assert jumanji.title == "Jumanji (1995)"
    assert Item.objects.get(external_id="movielens:2").title == "GoldenEye (1995)"
    assert Interaction.objects.filter(item=jumanji).count() == 1


@pytest.mark.django_db
def test_invalid_namespace_is_rejected():
    with pytest.raises(CommandError, match="--namespace 'Bad Name' is invalid"):
        call_command("import_movielens", "--namespace", "Bad Name")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("file", "line", "text", "fragments"),
    [
        ("u.data", 2, None, ["u.data line", "appears twice"]),
        ("u.user", 3, "3|-5|M|writer|32067", ["u.user line 3", "age -5", "range"]),
        (
            "u.data",
            7,
            "1\t1\t4\t99999999999999999999",
            ["u.data line 7", "timestamp '99999999999999999999'"],
        ),
        ("u.data", 8, "1\t1\t4\t99999999999", ["u.data line 8", "timestamp"]),
        ("u.data", 9, "1\t1\t1e308\t874965758", ["u.data line 9", "rating"]),
        ("u.data", 10, "1\t1\t-3\t874965758", ["u.data line 10", "rating -3.0"]),
        ("u.data", 11, "1\t1\t4\t-5", ["u.data line 11", "timestamp -5"]),
        (
            "u.data",
            12,
            "1" * 30 + "\t1\t4\t874965758",
            ["u.data line 12", "at most 18 digits"],
        ),
        ("u.data", 13, "1\t1\t4\t874965758\textra", ["u.data", "same number"]),
    ],
)
def test_out_of_range_values_are_rejected(slice_copy, file, line, text, fragments):
    path = slice_copy / file
    if text is None:
        lines = path.read_text().splitlines()
        text = lines[0]
    replace_line(path, line, text)

    import_fails(slice_copy, *fragments)
    assert table_counts() == dict.fromkeys(table_counts(), 0)


@pytest.mark.django_db
def test_utf8_item_file_keeps_accents(slice_copy):
    lines = (slice_copy / "u.item").read_text(encoding="latin-1").splitlines()
    fields = lines[0].split("|")
    fields[1] = "Amélie (2001)"
    lines[0] = "|".join(fields)
    (slice_copy / "u.item").write_text("\n".join(lines) + "\n", encoding="utf-8")

    call_command("import_movielens", str(slice_copy), "--no-progress")

    assert Item.objects.filter(title="Amélie (2001)").exists()


@pytest.mark.django_db
def test_renamed_genre_in_genre_file_is_kept(slice_copy):
    genres = (slice_copy / "u.genre").read_text().replace("Sci-Fi|", "Science Fiction|")
    (slice_copy / "u.genre").write_text(genres)

    call_command("import_movielens", str(slice_copy), "--no-progress")

    assert Category.objects.filter(name="Science Fiction").exists()
    assert Category.objects.get(name="Science Fiction").items.exists()


@pytest.mark.django_db
def test_folder_with_both_formats_is_rejected(slice_copy):
    (slice_copy / "ratings.csv").write_text((CSV_DIR / "ratings.csv").read_text())

    import_fails(slice_copy, "contains both u.data and ratings.csv")


@pytest.mark.django_db
def test_csv_fields_are_stripped(tmp_path):
    (tmp_path / "movies.csv").write_text(
        "movieId,title,genres\n1 , Toy Story (1995) , Animation|Comedy \n"
    )
    (tmp_path / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,1,4,874965758\n"
    )

    call_command("import_movielens", str(tmp_path), "--no-progress")

    item = Item.objects.get()
    assert item.title == "Toy Story (1995)"
    assert set(item.categories.values_list("name", flat=True)) == {
        "Animation",
        "Comedy",
    }


@pytest.mark.django_db
def test_empty_ratings_file_is_rejected(slice_copy):
    (slice_copy / "u.data").write_text("")

    import_fails(slice_copy, "u.data has no data rows")


@pytest.mark.django_db
def test_header_only_ratings_csv_is_rejected(tmp_path):
    (tmp_path / "movies.csv").write_text((CSV_DIR / "movies.csv").read_text())
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n")

    import_fails(tmp_path, "ratings.csv has no data rows")


@pytest.mark.django_db
def test_latin1_csv_names_line_and_fix(tmp_path):
    (tmp_path / "movies.csv").write_bytes(
        "movieId,title,genres\n1,Toy Story,Comedy\n2,Amélie,Comedy\n".encode("latin-1")
    )
    (tmp_path / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,1,4,874965758\n"
    )

    import_fails(tmp_path, "movies.csv line 3 is not valid", "save the file as UTF-8")
