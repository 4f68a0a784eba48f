"""SQL for a model's inline JSON field, typed by the JSON value itself, one class per dialect.

SQLite's `->>` hands back values under its own type-affinity rules and DuckDB's hands back text,
so comparing either directly gives two answers (`count = "3"` matched the number 3 on one engine
only). Every expression here first asks `json_type` what the value is and only then reads it as a
number (a 64-bit float), a text or a boolean, so a value of another type is NULL for that reading
and fails the comparison the same way on every route. The meaning is written down in the models
section of docs/query-language.md. `JsonField` holds the shared SQL; `SQLiteJson` and `DuckDBJson`
override only the type names and the readings the engines spell differently.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class JsonField:
    """One inline field (`path` is a validated identifier path, so it may be pasted)."""
    alias: str
    path: str

    # json_type's answers, by class: 1 number, 2 text, 3 boolean, 4 list or object;
    # NULL = missing/null
    TYPES: ClassVar[dict[int, tuple[str, ...]]] = {}
    REAL: ClassVar[str] = ""          # the SQL type of a 64-bit float

    @property
    def _doc(self) -> str:
        return f"{self.alias}.data"

    @property
    def _p(self) -> str:
        return f"'$.{self.path}'"

    def json_type(self) -> str:
        return f"json_type({self._doc}, {self._p})"

    def rank(self) -> str:
        """1 number, 2 text, 3 boolean, 4 list/object, NULL when missing or JSON null."""
        whens = " ".join(f"WHEN {_q(t)} THEN {r}" for r, names in self.TYPES.items()
                         for t in names)
        return f"(CASE {self.json_type()} {whens} END)"

    def _when(self, rank: int, then: str) -> str:
        names = ", ".join(_q(t) for t in self.TYPES[rank])
        return f"(CASE WHEN {self.json_type()} IN ({names}) THEN {then} END)"

    def num(self) -> str:
        """The value as a 64-bit float when it is a JSON number, else NULL."""
        return self._when(1, f"CAST({self._doc} ->> {self._p} AS {self.REAL})")

    def text(self) -> str:
        return self._when(2, f"{self._doc} ->> {self._p}")

    def boolean(self) -> str:
        raise NotImplementedError

    def compound(self) -> str:
        """A list or object as its JSON text (used only to tell groups apart)."""
        raise NotImplementedError

    def truthy(self) -> str:
        """JSON true or a number other than 0."""
        raise NotImplementedError

    def typed(self, kind: str) -> str:
        """The reading compared with a value of `kind` ('num', 'text' or 'bool')."""
        return {"num": self.num, "text": self.text, "bool": self.boolean}[kind]()

    def order_keys(self) -> list[str]:
        """The total order: numbers, then texts (by code point), then false < true, then lists
        and objects (tied); missing values are left to NULLS LAST."""
        return [self.rank(), self.num(), self.text(), self.boolean()]

    def group_keys(self) -> list[str]:
        return self.order_keys() + [self.compound()]

    def value(self) -> str:
        """The JSON text of the value (decoded to Python by the result)."""
        return f"({self._doc} -> {self._p})"

    @classmethod
    def number_slot(cls, slot: str) -> str:
        """A bound number read as a 64-bit float, as the field's numbers are."""
        return f"CAST({slot} AS {cls.REAL})"


class SQLiteJson(JsonField):
    """SQLite's JSON1: lower-case type names, booleans read as 1/0."""
    TYPES = {1: ("integer", "real"), 2: ("text",), 3: ("true", "false"), 4: ("array", "object")}
    REAL = "REAL"

    def boolean(self) -> str:
        return f"(CASE {self.json_type()} WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"

    def compound(self) -> str:
        return self._when(4, f"{self._doc} -> {self._p}")

    def truthy(self) -> str:
        return f"({self.num()} <> 0 OR {self.boolean()} = 1)"


class DuckDBJson(JsonField):
    """DuckDB's json extension: SQL type names, booleans read as BOOLEAN."""
    TYPES = {1: ("BIGINT", "UBIGINT", "HUGEINT", "DOUBLE"), 2: ("VARCHAR",), 3: ("BOOLEAN",),
             4: ("ARRAY", "OBJECT")}
    REAL = "DOUBLE"

    def boolean(self) -> str:
        return self._when(3, f"({self._doc} ->> {self._p}) = 'true'")

    def compound(self) -> str:
        return self._when(4, f"CAST({self._doc} -> {self._p} AS TEXT)")

    def truthy(self) -> str:
        return f"({self.num()} <> 0 OR {self.boolean()})"


def _q(name: str) -> str:
    return f"'{name}'"
