"""The API's blueprint and the decorator that declares an endpoint once, for Flask and OpenAPI.

``@api_endpoint`` registers a GET route, authenticates and authorises the caller, loads the
query string through a marshmallow schema (a bad value is a 400 naming the field, never a
500), and dumps the view's result through the response schema. The same declaration is what
:mod:`plugin.web.api.openapi` publishes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, request, url_for
from marshmallow import Schema, ValidationError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from plugin.core.errors import InvalidInput
from plugin.web.api.auth import Principal, authenticate, authorize
from plugin.web.lti import TOKEN_PARAM

PREFIX = "/api/v1"
blueprint = Blueprint("api", __name__, url_prefix=PREFIX)


@dataclass(frozen=True)
class Endpoint:
    """One declared endpoint: what OpenAPI says about it and what the route enforces."""

    rule: str
    name: str
    summary: str
    description: str
    tag: str
    scope: str | None
    response: type[Schema]
    query: type[Schema] | None
    launch: bool


ENDPOINTS: list[Endpoint] = []


@dataclass(frozen=True)
class Call:
    """What a view gets: the caller and the loaded query parameters."""

    principal: Principal | None
    args: dict[str, Any]


def json_response(body: Any, status: int = 200) -> Response:
    """``body`` as UTF-8 JSON (RFC 8259 §8.1), non-ASCII text as is, keys in schema order."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return current_app.response_class(text, status=status, mimetype="application/json")


def load_query(schema: type[Schema] | None) -> dict[str, Any]:
    """The request's query string loaded by ``schema``; a refusal names the parameter."""
    raw = {key: value for key, value in request.args.items() if key != TOKEN_PARAM}
    if schema is None:
        if raw:
            name = sorted(raw)[0]
            raise InvalidInput(f"{name}: unknown query parameter", field=name)
        return {}
    try:
        return schema().load(raw)
    except ValidationError as error:
        name, message = _first_message(error.messages)
        raise InvalidInput(f"{name}: {message}", field=name) from None


def _first_message(messages: Any) -> tuple[str, str]:
    if isinstance(messages, dict):
        name = sorted(messages)[0]
        value = messages[name]
        while isinstance(value, dict):
            value = value[sorted(value)[0]]
        text = value[0] if isinstance(value, list) and value else str(value)
        return str(name), str(text)
    return "query", str(messages)


def api_endpoint(
    rule: str,
    *,
    tag: str,
    response: type[Schema],
    scope: str | None,
    query: type[Schema] | None = None,
    launch: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """Declare a GET endpoint: its route, scope, query schema and response schema."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Response]:
        doc = (view.__doc__ or "").strip()
        summary, _sep, description = doc.replace("``", "`").partition("\n")
        ENDPOINTS.append(
            Endpoint(
                rule=rule,
                name=view.__name__,
                summary=summary.strip(),
                description=description.strip(),
                tag=tag,
                scope=scope,
                response=response,
                query=query,
                launch=launch,
            )
        )

        @functools.wraps(view)
        def handler(**kwargs: Any) -> Response:
            principal = None
            if scope is not None:
                principal = authenticate()
                authorize(principal, scope, launch_allowed=launch)
            call = Call(principal, load_query(query))
            return json_response(response().dump(view(call, **kwargs)))

        blueprint.add_url_rule(rule, view.__name__, handler, methods=["GET"])
        return handler

    return decorate


def count_rows(session: Session, statement: Select[*tuple[Any, ...]]) -> int:
    """How many rows ``statement`` selects."""
    counted = select(func.count()).select_from(statement.order_by(None).subquery())
    return session.execute(counted).scalar_one()


def page_of(
    session: Session, statement: Select[*tuple[Any, ...]], args: dict[str, Any]
) -> tuple[list[Any], int]:
    """One page of the ordered ``statement``'s scalars, and the total."""
    total = count_rows(session, statement)
    offset = (args["page"] - 1) * args["per_page"]
    rows = list(session.scalars(statement.offset(offset).limit(args["per_page"])))
    return rows, total


def slice_page(entries: Sequence[Any], args: dict[str, Any]) -> tuple[list[Any], int]:
    """One page of an in-memory list, and the total."""
    offset = (args["page"] - 1) * args["per_page"]
    return list(entries[offset : offset + args["per_page"]]), len(entries)


def page_body(items: list[Any], total: int, args: dict[str, Any]) -> dict[str, Any]:
    """A page of a collection with ``total`` and links to itself and its neighbours."""
    page, per_page = args["page"], args["per_page"]
    last = max(1, -(-total // per_page))

    def link(number: int) -> str:
        values: dict[str, Any] = {
            key: value for key, value in request.args.items() if key != TOKEN_PARAM
        }
        values.update(request.view_args or {})
        values.update(page=number, per_page=per_page)
        return url_for(str(request.endpoint), **values)

    return {
        "items": items,
        "total": total,
        "page": page,
        "per_page": per_page,
        "links": {
            "self": link(page),
            "next": link(page + 1) if page < last else None,
            "prev": link(min(page - 1, last)) if page > 1 else None,
        },
    }
