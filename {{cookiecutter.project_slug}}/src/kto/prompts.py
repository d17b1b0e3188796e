"""Read the prompts to generate from: a local file or a Hugging Face Hub dataset; write a prompts file."""

import codecs
import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from kto.config import ProjectConfig
from kto.errors import KtoError
from kto.files import write_lines

HUB_DATASET_ID = re.compile(r"[\w.-]+/[\w.-]+")
FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".txt", ".parquet")
# A byte-order mark says the encoding outright (UTF-32's before UTF-16's: they share a prefix).
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# The code page a spreadsheet on Windows saves "CSV" in, by language (its ANSI code page); other
# languages have none but Windows-1252. Guessing from a few short lines is unreliable, the
# language is known.
WINDOWS_CODE_PAGES = {
    "cs": "cp1250",
    "pl": "cp1250",
    "ru": "cp1251",
    "uk": "cp1251",
    "el": "cp1253",
    "tr": "cp1254",
    "he": "cp1255",
    "ar": "cp1256",
    "fa": "cp1256",
    "vi": "cp1258",
    "th": "cp874",
    "ja": "cp932",
    "zh": "cp936",
    "ko": "cp949",
}
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def load_prompts(source: str, column: str, root: Path, language: str = "en") -> list[str]:
    """The distinct, non-empty prompts of ``source``, in their order.

    ``source`` is a file (relative to the working directory or to ``root``) or a Hub dataset id;
    a text file not in UTF-8 is read in the ``language``'s Windows code page or the encoding
    charset-normalizer finds.
    """
    texts = read_texts(source, column, root, language)
    prompts = list(dict.fromkeys(text.strip() for text in texts if text and text.strip()))
    if not prompts:
        raise KtoError("prompts", f"{source} holds no prompts")
    return prompts


def read_texts(source: str, column: str, root: Path, language: str = "en") -> list[str]:
    """Every row's text of ``source`` as written, blanks and repeats included (``kto prompts check``)."""
    path = source_file(source, root)
    if path is not None:
        return _read_file(path, column, language)
    if HUB_DATASET_ID.fullmatch(source) and not source.endswith(FILE_SUFFIXES):
        return _read_hub_dataset(source, column)
    raise KtoError("prompts", f"{source!r} is neither a file nor a Hub dataset id (owner/name)")


def source_file(source: str, root: Path) -> Path | None:
    """The file ``source`` names (relative to the working directory or to ``root``), if it is one."""
    return next((p for p in (Path(source), root / source) if p.is_file()), None)


def read_prompts(
    config: ProjectConfig, source: str | None = None, column: str | None = None, limit: int | None = None
) -> list[str]:
    """The project's prompts (``prompts.source`` unless another source is given), the first ``limit``."""
    texts = load_prompts(
        source or config.prompts.source, column or config.prompts.column, config.root, config.language.code
    )
    return texts[:limit]


def _read_file(path: Path, column: str, language: str) -> list[str]:
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return read_text(path, language).splitlines()
    if suffix == ".csv":
        rows = list(csv.DictReader(io.StringIO(read_text(path, language), newline="")))
    elif suffix in (".jsonl", ".json"):
        rows = _read_json_lines(path, read_text(path, language))
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(path).to_pylist()
    else:
        raise KtoError("prompts", f"{path}: unsupported file type; use one of {', '.join(FILE_SUFFIXES)}")
    return _column(rows, column, str(path))


@dataclass(frozen=True)
class Decoded:
    text: str
    guessed: str | None = None  # the encoding, when the file is not UTF-8 and kto guessed one
    bad_lines: tuple[int, ...] = ()  # lines of a UTF-8 file with bytes that are not (read as U+FFFD)


def read_text(path: Path, language: str = "en") -> str:
    return decode_file(path, language).text


def decode_file(path: Path, language: str = "en") -> Decoded:
    """The text of a file saved by a spreadsheet or an editor: UTF-8 (a few bad bytes read as
    U+FFFD, their lines named), a byte-order mark (UTF-16 from Excel's "Unicode text"), or, for a
    file that is not UTF-8 at all, the language's Windows code page or what charset-normalizer finds."""
    data = path.read_bytes()
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return Decoded(_decode(path, data, encoding))
    try:
        return Decoded(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    if (bad := _bad_utf8_lines(data)) is not None:
        return Decoded(data.decode("utf-8", errors="replace"), bad_lines=bad)
    if b"\x00" not in data:  # NUL bytes: UTF-16 without a mark, or not text at all
        code_page = WINDOWS_CODE_PAGES.get(language, "cp1252")
        try:
            text = data.decode(code_page)
            if not CONTROL.search(text):
                return Decoded(text, code_page)
        except UnicodeDecodeError:
            pass
    import charset_normalizer

    found = charset_normalizer.from_bytes(data).best()
    if found is None or CONTROL.search(str(found)):
        raise KtoError(
            "prompts",
            f"{path} is not a text file in an encoding kto recognises; save it as UTF-8 "
            "(in a spreadsheet: CSV UTF-8)",
        )
    return Decoded(str(found), found.encoding)


def _bad_utf8_lines(data: bytes) -> tuple[int, ...] | None:
    """The lines that are not UTF-8 of a file that is UTF-8 elsewhere: at least as many of its
    lines beyond ASCII are valid UTF-8 as not (a file in a code page has next to none); None when
    it is not UTF-8 at all."""
    valid, bad = 0, []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            valid += 1
        except UnicodeDecodeError:
            bad.append(number)
    return tuple(bad) if valid and valid >= len(bad) else None


def _decode(path: Path, data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise KtoError(
            "prompts", f"{path} starts like {encoding} but is not valid {encoding}; save it as UTF-8"
        ) from error


def _read_json_lines(path: Path, text: str) -> list[dict]:
    if path.suffix.lower() == ".json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as error:
            raise KtoError("prompts", f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from error
        if not isinstance(rows, list):
            raise KtoError("prompts", f"{path}: expected a JSON list of objects")
        return rows
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise KtoError("prompts", f"{path}:{number}: not valid JSON ({error.msg})") from error
    return rows


def _column(rows: list, column: str, where: str) -> list[str]:
    if rows and not all(isinstance(row, dict) for row in rows):
        raise KtoError("prompts", f"{where}: every row must be an object with a {column!r} field")
    missing = next((row for row in rows if column not in row), None)
    if missing is not None:
        raise KtoError(
            "prompts",
            f"{where}: a row has no {column!r} column (it has: {', '.join(map(str, missing)) or 'nothing'}); "
            "set prompts.column in project.yaml or pass --prompt-column",
        )
    return [str(row[column]) if row[column] is not None else "" for row in rows]


def _read_hub_dataset(dataset_id: str, column: str) -> list[str]:
    import datasets

    try:
        dataset = datasets.load_dataset(dataset_id, split="train")
    except Exception as error:  # network, auth and missing-repo errors all end here
        raise KtoError("prompts", f"could not load Hub dataset {dataset_id}: {error}") from error
    if column not in dataset.column_names:
        raise KtoError(
            "prompts",
            f"Hub dataset {dataset_id} has no {column!r} column (it has: {', '.join(dataset.column_names)})",
        )
    return [str(text) if text is not None else "" for text in dataset[column]]


def write_prompts(prompts: list[str], path: Path, column: str = "prompt") -> None:
    """One JSON object per line with the prompt in ``column``, written whole or not at all."""
    write_lines(path, (json.dumps({column: text}, ensure_ascii=False) for text in prompts))
