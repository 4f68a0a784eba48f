"""SQL for a model's inline JSON field, typed by the JSON value itself, in both dialects.

SQLite's `->>` hands back values under its own type-affinity rules and DuckDB's hands back text,
so comparing either directly gives two answers (`count = "3"` matched the number 3 on one engine
only). Every expression here first asks `json_type` what the value is and only then reads it as a
number (a 64-bit float), a text or a boolean, so a value of another type is NULL for that reading
and fails the comparison the same way on every route. The meaning is written down in the models
section of docs/query-language.md.
"""
from __future__ import annotations

from dataclasses import dataclass

# json_type's answers, by class: 1 number, 2 text, 3 boolean, 4 list or object; NULL = missing/null
_TYPES = {
    "sqlite": {1: ("integer", "real"), 2: ("text",), 3: ("true", "false"), 4: ("array", "object")},
    "duckdb": {1: ("BIGINT", "UBIGINT", "HUGEINT", "DOUBLE"), 2: ("VARCHAR",), 3: ("BOOLEAN",),
               4: ("ARRAY", "OBJECT")},
}


@dataclass(frozen=True)
class JsonField:
    """One inline field (`path` is a validated identifier path, so it may be pasted)."""
    alias: str
    path: str
    dialect: str

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
        whens = " ".join(f"WHEN {_q(t)} THEN {r}" for r, names in _TYPES[self.dialect].items()
                         for t in names)
        return f"(CASE {self.json_type()} {whens} END)"

    def _when(self, rank: int, then: str) -> str:
        names = ", ".join(_q(t) for t in _TYPES[self.dialect][rank])
        return f"(CASE WHEN {self.json_type()} IN ({names}) THEN {then} END)"

    def num(self) -> str:
        """The value as a 64-bit float when it is a JSON number, else NULL."""
        real = "REAL" if self.dialect == "sqlite" else "DOUBLE"
        return self._when(1, f"CAST({self._doc} ->> {self._p} AS {real})")

    def text(self) -> str:
        return self._when(2, f"{self._doc} ->> {self._p}")

    def boolean(self) -> str:
        if self.dialect == "sqlite":
            return f"(CASE {self.json_type()} WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"
        return self._when(3, f"({self._doc} ->> {self._p}) = 'true'")

    def compound(self) -> str:
        """A list or object as its JSON text (used only to tell groups apart)."""
        return self._when(4, f"CAST({self._doc} -> {self._p} AS TEXT)" if self.dialect == "duckdb"
                          else f"{self._doc} -> {self._p}")

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

    def truthy(self) -> str:
        """JSON true or a number other than 0."""
        true = f"{self.boolean()} = 1" if self.dialect == "sqlite" else self.boolean()
        return f"({self.num()} <> 0 OR {true})"


def number_slot(slot: str, dialect: str) -> str:
    """A bound number read as a 64-bit float, as the field's numbers are."""
    return f"CAST({slot} AS {'REAL' if dialect == 'sqlite' else 'DOUBLE'})"


def _q(name: str) -> str:
    return f"'{name}'"
