"""Domains (``[('name', 'ilike', 'x'), '|', ...]``) translated to SQL ``WHERE`` clauses."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

TRUE_LEAF = (1, "=", 1)
FALSE_LEAF = (0, "=", 1)
TRUE_DOMAIN: list[Any] = [TRUE_LEAF]
FALSE_DOMAIN: list[Any] = [FALSE_LEAF]
OPERATORS = (
    "=",
    "!=",
    "<>",
    "<",
    ">",
    "<=",
    ">=",
    "in",
    "not in",
    "like",
    "ilike",
    "not like",
    "not ilike",
    "=like",
    "=ilike",
    "child_of",
    "parent_of",
    "any",
    "not any",
)
_NEGATIVE = {"!=", "<>", "not in", "not like", "not ilike", "not any"}


def AND(domains: Sequence[Sequence[Any]]) -> list[Any]:
    """The conjunction of ``domains``."""
    domains = [list(d) for d in domains if d]
    return ["&"] * (len(domains) - 1) + [t for d in domains for t in d] if domains else list(TRUE_DOMAIN)


def OR(domains: Sequence[Sequence[Any]]) -> list[Any]:
    """The disjunction of ``domains``."""
    domains = [list(d) for d in domains if d]
    return ["|"] * (len(domains) - 1) + [t for d in domains for t in d] if domains else list(FALSE_DOMAIN)


def _terms(domain: Sequence[Any]) -> Iterator[Any]:
    yield from domain


def to_sql(model: Any, domain: Sequence[Any] | None) -> tuple[str, list[Any]]:
    """``(where_sql, params)`` for ``domain`` on ``model`` (terms joined by ``&`` when implicit)."""
    items = list(domain or [])
    if not items:
        return "TRUE", []
    parts: list[tuple[str, list[Any]]] = []
    terms = _terms(items)
    while True:
        try:
            parts.append(_parse(model, terms))
        except StopIteration:
            break
    sql = " AND ".join(f"({p[0]})" for p in parts)
    return sql, [v for p in parts for v in p[1]]


def _parse(model: Any, terms: Iterator[Any]) -> tuple[str, list[Any]]:
    term = next(terms)
    if term in ("&", "|"):
        left = _parse(model, terms)
        right = _parse(model, terms)
        op = "AND" if term == "&" else "OR"
        return f"({left[0]}) {op} ({right[0]})", left[1] + right[1]
    if term == "!":
        inner = _parse(model, terms)
        return f"NOT ({inner[0]})", inner[1]
    if isinstance(term, list | tuple) and len(term) == 3:
        return leaf_sql(model, *term)
    raise ValueError(f"Invalid domain term {term!r}")


def _ids(value: Any) -> Any:
    if hasattr(value, "_ids"):
        return list(value._ids)
    return value


def leaf_sql(model: Any, path: Any, operator: str, value: Any) -> tuple[str, list[Any]]:
    """SQL for one ``(path, operator, value)`` leaf."""
    if (path, operator, value) in (TRUE_LEAF, FALSE_LEAF):
        return ("TRUE" if path == 1 else "FALSE"), []
    operator = operator.lower()
    if operator not in OPERATORS:
        raise ValueError(f"Invalid operator {operator!r} in domain term {(path, operator, value)!r}")
    value = _ids(value)
    table = model._table
    name, _, rest = str(path).partition(".")
    field = model._fields.get(name)
    if field is None:
        raise ValueError(f"Invalid field {model._name}.{name} in leaf {(path, operator, value)!r}")
    if field.related and not field.store:
        return leaf_sql(model, f"{field.related}{'.' + rest if rest else ''}", operator, value)
    if field.inherited:
        link = model._inherits_field(name)
        return leaf_sql(model, f"{link}.{name}{'.' + rest if rest else ''}", operator, value)
    if field.type in ("any", "not any") or operator in ("any", "not any"):
        rest, operator = (rest or "id"), ("in" if operator == "any" else "not in")
        value = model.env[field.comodel_name].with_context(active_test=False).search(value).ids
    if field.relational:
        return _relational(model, field, rest, operator, value)
    if rest:
        raise ValueError(f"Field {model._name}.{name} is not relational: {path!r}")
    if not field.store and name != "id":
        raise ValueError(f"Non-stored field {model._name}.{name} cannot be searched.")
    return _column(field.column_sql(f'"{table}"."{name}"', model.env.lang), field.type, operator, value)


def _relational(model: Any, field: Any, rest: str, operator: str, value: Any) -> tuple[str, list[Any]]:
    env, table = model.env, model._table
    comodel = env[field.comodel_name].with_context(active_test=False)
    if not rest and isinstance(value, str) and operator not in ("=like", "=ilike"):
        rest = comodel._rec_name_field()
    if field.type == "many2one":
        column = f'"{table}"."{field.name}"'
        if not rest:
            return _column(column, "many2one", operator, value)
        sub, params = leaf_sql(comodel, rest, operator, value)
        return f'{column} IN (SELECT "{comodel._table}".id FROM "{comodel._table}" WHERE {sub})', params
    if rest:
        sub, params = leaf_sql(comodel, rest, operator, value)
        ids_sql = f'SELECT "{comodel._table}".id FROM "{comodel._table}" WHERE {sub}'
        negate = False
    else:
        negate = operator in _NEGATIVE
        if value is False or value is None or value == []:
            if field.type == "one2many":
                inv = field.inverse_name
                linked = f'SELECT "{inv}" FROM "{comodel._table}" WHERE "{inv}" IS NOT NULL'
            else:
                linked = f'SELECT "{field.column1}" FROM "{field.relation}"'
            return f'"{table}".id {"IN" if negate else "NOT IN"} ({linked})', []
        ids = value if isinstance(value, list | tuple) else [value]
        ids_sql, params = "SELECT unnest(%s::int4[])", [list(ids)]
    return _membership(model, field, ids_sql, params, negate)


def _membership(
    model: Any, field: Any, ids_sql: str, params: list[Any], negate: bool
) -> tuple[str, list[Any]]:
    table = model._table
    if field.type == "one2many":
        comodel = model.env[field.comodel_name]
        sub = f'SELECT "{field.inverse_name}" FROM "{comodel._table}" WHERE id IN ({ids_sql})'
    else:
        sub = f'SELECT "{field.column1}" FROM "{field.relation}" WHERE "{field.column2}" IN ({ids_sql})'
    return f'"{table}".id {"NOT IN" if negate else "IN"} ({sub})', params


def _column(column: str, ftype: str, operator: str, value: Any) -> tuple[str, list[Any]]:
    if operator in ("child_of", "parent_of"):
        operator = "in"
    if operator == "<>":
        operator = "!="
    if operator in ("in", "not in"):
        values = list(value) if isinstance(value, list | tuple | set) else [value]
        has_null = any(v is False or v is None for v in values)
        values = [v for v in values if v is not False and v is not None]
        if ftype == "boolean":
            has_null = has_null or False in values
        pos = operator == "in"
        clauses, params = [], []
        if values:
            clauses.append(f"{column} {'=' if pos else '!='} ANY(%s)")
            params.append(values)
        if has_null:
            clauses.append(f"{column} IS {'' if pos else 'NOT '}NULL")
        if not clauses:
            return ("FALSE" if pos else "TRUE"), []
        if not pos and values and not has_null:
            clauses.append(f"{column} IS NULL")
            return f"({' OR '.join(clauses)})", params
        return f"({(' OR ' if pos else ' AND ').join(clauses)})", params
    if (value is False or value is None) and operator in ("=", "!="):
        if ftype == "boolean":
            return (f"({column} IS NULL OR {column} = FALSE)" if operator == "=" else f"{column} = TRUE"), []
        return f"{column} IS {'' if operator == '=' else 'NOT '}NULL", []
    if ftype == "boolean" and operator in ("=", "!=") and value is True:
        return (f"{column} = TRUE" if operator == "=" else f"({column} IS NULL OR {column} = FALSE)"), []
    if operator in ("like", "ilike", "not like", "not ilike", "=like", "=ilike"):
        pattern = str(value) if operator.startswith("=") else f"%{value}%"
        sql_op = {"=like": "LIKE", "=ilike": "ILIKE"}.get(operator, operator.upper())
        expr = f"{column}::text {sql_op} %s"
        if operator.startswith("not"):
            return f"({expr} OR {column} IS NULL)", [pattern]
        return expr, [pattern]
    if operator == "!=":
        return f"({column} != %s OR {column} IS NULL)", [value]
    return f"{column} {operator} %s", [value]


def normalize_domain(domain: Sequence[Any]) -> list[Any]:
    """``domain`` with the implicit ``&`` operators made explicit."""
    items = list(domain)
    if not items:
        return list(TRUE_DOMAIN)
    result: list[Any] = []
    expected = 1
    for term in items:
        if expected == 0:
            result.insert(0, "&")
            expected = 1
        if term in ("&", "|"):
            expected += 1
        elif term != "!":
            expected -= 1
        result.append(term)
    return result
